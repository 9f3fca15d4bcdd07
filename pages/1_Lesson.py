"""The lesson, step by step, as code you can run, and what had to change for today's libraries."""

import streamlit as st

from core.params import TrainParams
from core.process import configure_process
from ui.sidebar import quick_pages, set_params, sidebar

configure_process()
st.set_page_config(page_title="MLP Lens · The lesson", page_icon=":material/biotech:",
                   layout="wide")
params = sidebar()
st.title("The lesson")
quick_pages()  # shown on phones only, where the sidebar is folded away
st.markdown(
    "The dashboard grew out of a short lesson: train a network with **one hidden layer of six "
    "units** to tell the digits 0–3 apart, then look at each unit's 784 incoming weights as a "
    "28 × 28 picture. Here is the lesson's code, updated for today's libraries, one step at a time."
)
if params == TrainParams():
    st.success("The sidebar is on the lesson's exact settings.", icon=":material/check_circle:")
else:
    st.button("Set the sidebar to the lesson's exact settings", on_click=set_params,
              args=(TrainParams(),), key="lesson_reset", type="primary")

st.header("1 · Load MNIST")
st.code(
    """from sklearn.datasets import fetch_openml

X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
print(X.shape, X.min(), X.max(), y[:5])   # (70000, 784) 0 255 ['5' '0' '4' '1' '9']""",
    language="python",
)
st.markdown(
    "70,000 handwritten digits, each 28 × 28 = 784 pixel values from 0 (white) to 255 (black). "
    "The labels are strings `'0'`…`'9'`. **In the dashboard:** *The data* on the Explore page."
)

st.header("2 · Keep the digits 0–3")
st.code('X5, y5 = X[y <= "3"], y[y <= "3"]   # 28,911 images', language="python")
st.markdown(
    "Comparing strings works here because every label is one character. "
    "**In the dashboard:** the *Digits* choice in the sidebar."
)

st.header("3 · Train one hidden layer of six units")
st.code(
    """from sklearn.neural_network import MLPClassifier

mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=200, alpha=1e-4,
                    solver="sgd", random_state=2)
mlp.fit(X5, y5)
print(len(mlp.coefs_), [w.shape for w in mlp.coefs_])   # 2 [(784, 6), (6, 4)]""",
    language="python",
)
st.markdown(
    "Each of the 6 hidden units computes a weighted sum of the 784 pixels and passes it through "
    "ReLU; the 4 outputs, one per digit, weigh the 6 units. `coefs_[0]` (784 × 6) and "
    "`coefs_[1]` (6 × 4) are those weights. **In the dashboard:** *Hidden units*, *alpha* and "
    "*random_state* in the sidebar, *solver* and *max_iter* under *Advanced*; the metrics row and "
    "the line under the weight grid."
)

st.header("4 · Look at what each unit learned")
st.code(
    """import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 3, figsize=(5, 4))
for i, ax in enumerate(axes.ravel()):
    ax.matshow(mlp.coefs_[0][:, i].reshape(28, 28), cmap=plt.cm.gray)
    ax.set_title(i + 1)
    ax.set_xticks(())
    ax.set_yticks(())
plt.show()""",
    language="python",
)
st.markdown(
    "A unit's weights form an image: in the lesson's grey, bright pixels push the unit on and "
    "dark pixels push it off (in the dashboard's red and blue, red pushes it on, blue off, "
    "white does nothing), so the picture shows the stroke pattern the unit looks for. "
    "Reading `coefs_[1]` tells which digit each unit votes for. Another `random_state` gives a "
    "different but equally good set of units. **In the dashboard:** the weight grid and "
    "*How each unit votes*."
)

st.header("5 · How well does it do on digits it has never seen?")
st.markdown(
    "The lesson measures the network on the images it trained on, which says how well it "
    "learned them, not how well it reads a new digit. `mnist_784` keeps MNIST's own split: "
    "the first 60,000 rows are the training digits, the last 10,000 the test digits, written "
    "by other people. Train on the first rows and score on the last:"
)
st.code(
    """X_train, X_test, y_train, y_test = X[:60000], X[60000:], y[:60000], y[60000:]
train, test = y_train <= "3", y_test <= "3"
mlp.fit(X_train[train], y_train[train])
print(mlp.score(X_test[test], y_test[test]))   # accuracy on unseen digits""",
    language="python",
)
st.markdown(
    "**In the dashboard:** tick *Hold out MNIST's test digits* in the sidebar. The Explore page "
    "then shows training and test accuracy side by side, the confusion matrix and the test "
    "digits it gets wrong most confidently. On the offline sample (5,000 digits) the split is "
    "a fixed stratified one: `train_test_split(X, y, test_size=1/7, stratify=y, "
    "random_state=0)`, 4,285 training and 715 test images."
)

st.header("What had to change, and why")
st.markdown(
    """
- **`as_frame=False`.** The lesson called `fetch_openml('mnist_784', version=1, return_X_y=True)`.
  Today that returns a DataFrame and a *categorical* `y`, and `y <= '3'` raises a `TypeError`.
  With `as_frame=False`, `X` and `y` are NumPy arrays as the lesson expects.
- **pandas 3.0, not 3.1.** With pandas 3.1, scikit-learn 1.9.1's ARFF parser fails on mnist_784
  (scikit-learn issue 34892) and deletes the cached file it could not parse. MLP Lens pins
  versions that work together (`requirements.txt`).
- **Dead units.** The code runs, but on real MNIST digits the lesson's exact settings (raw 0–255
  pixels with `sgd`) leave most hidden units dead: seed 2 keeps one of six units alive and the
  training accuracy stays near 50%. Dividing the pixels by 255 (`X5 / 255`) gives about 98%.
  The dashboard reproduces the lesson exactly by default and says so when units are dead;
  tick *Scale pixels to 0–1* under *Advanced* for the fix.
- **One BLAS thread.** "Exactly the lesson's weights" means the lesson's code run with one BLAS
  thread, as MLP Lens trains. With more threads, OpenBLAS may add up the same products in
  another order, and for some shapes the weights differ in their last bits (9 hidden units on
  the digits 1 and 7, for one). The exported script sets it in one line:
  `threadpool_limits(1, user_api="blas")` from `threadpoolctl`.
"""
)
