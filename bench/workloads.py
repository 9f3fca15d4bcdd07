"""What one fresh benchmark process runs: ``python -m bench.workloads NAME '{"arg": ...}'``.

The clock starts on this module's first lines, before any workload imports
scikit-learn or Streamlit, so every total includes those imports (but not the
interpreter's own start-up, which the parent measures separately). The
process ends by printing one line, ``BENCH_RESULT {json}``, with its timings
and its peak resident memory (``ru_maxrss``: kilobytes on Linux).
"""

import json
import resource
import sys
from time import perf_counter, sleep

START = perf_counter()  # before any workload's imports: totals include them
MARKER = "BENCH_RESULT"

from bench.watch import core_alone, first_visit, watched  # noqa: E402 - after the clock; they import late


def lesson_script(*, data_home: str, max_iter: int, scale: bool) -> dict:
    """The lesson's code as a person runs it today: fetch_openml, the 0-3 rows, fit."""
    from sklearn.datasets import fetch_openml
    from sklearn.neural_network import MLPClassifier

    imported = perf_counter()
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=data_home)
    X5, y5 = X[y <= "3"], y[y <= "3"]
    if scale:
        X5 = X5 / 255
    loaded = perf_counter()
    mlp = MLPClassifier(hidden_layer_sizes=(6,), max_iter=max_iter, alpha=1e-4, solver="sgd",
                        random_state=2)
    mlp.fit(X5, y5)
    done = perf_counter()
    return {"seconds": done - START, "imports": imported - START, "load": loaded - imported,
            "fit": done - loaded, "n_samples": len(y5), "n_iter": int(mlp.n_iter_),
            "weights": _digest(mlp.coefs_)}


def lens_train(*, data_home: str, max_iter: int, scale: bool, holdout: bool = False) -> dict:
    """MLP Lens's path to the same network: the uint8 copy, then the persistent model cache.

    With ``holdout`` it trains on the training side of the data's split only and measures
    the test side (MNIST's own split for OpenML's mnist_784).
    """
    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.train import train_mlp, trainings_run

    configure_process()  # as the server does: one BLAS thread, no ConvergenceWarning printed
    imported = perf_counter()
    data = load_mnist(data_home=data_home)
    loaded = perf_counter()
    result = train_mlp(TrainParams(max_iter=max_iter, scale_pixels=scale, holdout=holdout),
                       data)
    done = perf_counter()
    return {"seconds": done - START, "imports": imported - START, "load": loaded - imported,
            "train": done - loaded, "trained_here": trainings_run(), "source": data.source,
            "n_samples": result.n_samples, "train_accuracy": result.train_accuracy,
            "dead_units": len(result.dead_units), "hidden_units": result.params.hidden_units,
            "n_iter": result.n_iter, "converged": result.converged,
            "test_accuracy": result.test_accuracy, "n_test": result.n_test,
            "split": data.split if holdout else "", "weights": _digest(result.model.coefs_)}


def seeds(*, data_home: str, max_iter: int, seeds: list[int], parallel: bool) -> dict:
    """Four seeds of the lesson config, none cached: worker processes, or one after another.

    In parallel, the Compare seeds page's ``SeedTraining`` runs one worker process per seed
    (as many at once as there are cores), each mapping the uint8 copy; one after another,
    ``train_mlp`` trains them in this process. The workers' peak memory is the largest
    ``ru_maxrss`` a worker reported.
    """
    from core.compare import SeedTraining
    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.train import is_trained, train_mlp

    configure_process()  # as the server does; each worker process configures itself too
    imported = perf_counter()
    data = load_mnist(data_home=data_home)
    params = [TrainParams(max_iter=max_iter, random_state=seed) for seed in seeds]
    loaded = perf_counter()
    if parallel:
        training = SeedTraining(params[0], seeds, data)
        finished = training.wait(timeout=3600)
        failed = [seed for seed, job in training.poll().items() if job.state != "done"]
        workers, worker_peak_mb = training.n_jobs, training.worker_peak_mb
    else:
        for one in params:
            train_mlp(one, data)
        finished, failed, workers, worker_peak_mb = True, [], 0, None
    done = perf_counter()
    return {"seconds": done - loaded, "imports": imported - START, "load": loaded - imported,
            "seeds": list(seeds), "workers": workers, "finished": finished, "failed": failed,
            "all_cached": all(is_trained(one, data) for one in params),
            "worker_peak_mb": worker_peak_mb,
            "data_mb": data.X.nbytes / 2**20, "problem": "" if finished and not failed else
            f"seeds {failed} did not finish"}


def sweep(*, data_home: str, max_iter: int, engine: str) -> dict:
    """A 16-configuration sweep (hidden units 3, 6 x alpha 1e-4, 1e-2 x seeds 2, 3 x raw and
    scaled pixels, sgd), none cached: one after another in this process (``train_mlp``), on
    the local engine (2 loky worker processes, their start included), or on a Dask cluster
    of 2 worker processes on this machine (``LocalCluster``; its start is reported apart).
    """
    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.sweep import DaskEngine, LocalEngine, SweepGrid, run_sweep
    from core.train import train_mlp

    configure_process()  # as the server does; each worker process configures itself too
    imported = perf_counter()
    data = load_mnist(data_home=data_home)
    grid = SweepGrid(base=TrainParams(max_iter=max_iter, holdout=True), hidden_units=(3, 6),
                     alpha=(1e-4, 1e-2), random_state=(2, 3), scale_pixels=(False, True),
                     solver=("sgd",))
    configs = grid.configurations()
    loaded = perf_counter()
    cluster_start, failed, workers = None, [], 0
    if engine == "sequential":
        began = perf_counter()
        for params in configs:
            train_mlp(params, data)
        ended = perf_counter()
    else:
        cluster = None
        if engine == "dask":
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            runner = DaskEngine(cluster.scheduler_address)
            cluster_start = perf_counter() - loaded
        else:
            runner = LocalEngine(2)
        began = perf_counter()
        rows = run_sweep(configs, data, runner)
        ended = perf_counter()
        failed = [str(row.params) for row in rows if not row.ok]
        workers = runner.n_workers
        runner.close()
        if cluster is not None:
            cluster.close()
    networks = [train_mlp(params, data).model for params in configs]  # from the cache
    return {"seconds": ended - began, "imports": imported - START, "load": loaded - imported,
            "configs": len(configs),
            "engine": engine, "workers": workers, "cluster_start": cluster_start,
            "epochs": sum(int(m.n_iter_) for m in networks),
            "weights": _digest([w for m in networks for w in m.coefs_]),
            "problem": f"{len(failed)} configurations failed: {failed[:2]}" if failed else ""}


def two_trainings(*, data_home: str, max_iter: int, how: str) -> dict:
    """Two networks (the lesson config, seeds 2 and 3, not cached) trained at once: in two
    threads of this process, as the server's live trainings ran before, or as two jobs
    (``core.jobs``: worker processes from the fork server, as every training runs now)."""
    import math
    import threading

    from core import jobs
    from core.budget import Budget
    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.train import train_once

    configure_process()
    data = load_mnist(data_home=data_home)
    params = [TrainParams(max_iter=max_iter, random_state=seed) for seed in (2, 3)]
    if how == "threads":
        began = perf_counter()
        workers = [threading.Thread(target=train_once, args=(one, data)) for one in params]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        failed = []
    else:
        _warm_fork_server(data)  # a server has done this once, at its first visitor
        began, trainers = perf_counter(), Budget(2)
        started = [jobs.start(one, data, session="bench", trainers=trainers,
                              unwatched_after=math.inf) for one in params]
        failed = [job.error for job in started if not job.wait() or job.error]
    return {"seconds": perf_counter() - began, "how": how, "n_samples": len(data.y),
            "problem": f"a worker failed: {failed}" if failed else ""}


def first_weights(*, max_iter: int) -> dict:
    """From asking for a new network (36 units, every digit of the offline sample) to its
    first epoch's weights in this process, as a live view gets them: a job whose worker comes
    from a fork server that has served a visitor before."""
    from core import jobs
    from core.data import load_sample
    from core.params import TrainParams
    from core.process import configure_process

    configure_process()
    data = load_sample()
    warm = _warm_fork_server(data)
    params = TrainParams(hidden_units=36, digits=tuple(range(10)), scale_pixels=True,
                         max_iter=max_iter, random_state=4242)
    began = perf_counter()
    job = jobs.start(params, data, session="bench")
    while job.snapshot() is None and not job.done:
        sleep(0.001)
    first = perf_counter() - began
    job.release("bench", stop=True)
    job.wait(30)
    return {"seconds": first, "warm_up": warm, "n_samples": job.images,
            "problem": job.error or ""}


def _warm_fork_server(data) -> float:
    """Train one tiny network as a job: the fork server has then imported scikit-learn (it
    does so once per server, 1-3 s). Seconds it took."""
    from core import jobs
    from core.params import TrainParams

    began = perf_counter()
    job = jobs.start(TrainParams(hidden_units=2, max_iter=1, random_state=4241), data,
                     session="warm-up")
    job.wait(120)
    return perf_counter() - began


def capacity(*, seconds: float = 1.0) -> dict:
    """How many processes' worth of speed this machine gives two processes at once.

    The same CPU-bound pure-Python function runs in one process alone, then in two
    processes at once; capacity = 2 x (time alone) / (time of the pair). 2.0: two full
    cores; 1.0: two processes only share one core's worth. The ideal time of a
    2-worker job over its sequential time is then 1 / capacity, not 0.5.
    """
    import multiprocessing

    loops = _calibrate(seconds)
    context = multiprocessing.get_context("fork")
    alone = _in_processes(context, loops, 1)
    pair = _in_processes(context, loops, 2)
    return {"seconds": pair, "alone": alone, "pair": pair, "loops": loops,
            "capacity": 2 * alone / pair, "imports": 0.0}


def _spin(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i * i % 7
    return total


def _calibrate(seconds: float) -> int:
    loops, began = 200_000, perf_counter()
    _spin(loops)
    return max(loops, int(loops * seconds / max(perf_counter() - began, 1e-6)))


def _in_processes(context, loops: int, count: int) -> float:
    """Wall time of ``count`` processes each running ``_spin(loops)``, started together."""
    workers = [context.Process(target=_spin, args=(loops,)) for _ in range(count)]
    began = perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return perf_counter() - began


def recording(*, data_home: str, max_iter: int, scale: bool, repeats: int = 2) -> dict:
    """The cost of recording the history: the same fit with and without the recorder.

    Plain ``fit`` and ``fit`` watched by the history's recorder (plus its
    ``finish``) alternate ``repeats`` times in this one process, with the one BLAS
    thread MLP Lens trains with; each keeps its fastest time. Both must give the
    same weights.
    """
    from threadpoolctl import threadpool_limits

    from core.data import load_mnist
    from core.history import HistoryRecorder, probe_rows
    from core.params import TrainParams
    from core.sklearn_hooks import watching
    from core.train import make_model, training_inputs

    imported = perf_counter()
    threadpool_limits(limits=1, user_api="blas")
    params = TrainParams(max_iter=max_iter, scale_pixels=scale)
    X, y = training_inputs(params, load_mnist(data_home=data_home))
    loaded = perf_counter()
    plain, recorded, digests = [], [], set()
    for _ in range(repeats):
        began = perf_counter()
        model = make_model(params).fit(X, y)
        plain.append(perf_counter() - began)
        digests.add(_digest(model.coefs_))
        began = perf_counter()
        model = make_model(params)
        recorder = HistoryRecorder(X[probe_rows(len(X))])
        with watching(model, recorder):
            model.fit(X, y)
        history = recorder.finish(model)
        recorded.append(perf_counter() - began)
        digests.add(_digest(model.coefs_))
    return {"seconds": min(recorded), "plain": min(plain), "recorded": min(recorded),
            "plain_all": plain, "recorded_all": recorded, "imports": imported - START,
            "load": loaded - imported, "n_samples": len(y), "n_iter": int(model.n_iter_),
            "frames": len(history.epochs), "probe": history.probe_size,
            "same_weights": len(digests) == 1,
            "problem": "" if len(digests) == 1 else "recording changed the weights"}


def history_size(*, data_home: str, rows: int, max_iter: int) -> dict:
    """The largest network's cache entry: 36 units, 10 digits, a long training, on disk.

    The size does not depend on how many images it trains on, so it trains on
    ``rows`` images spread evenly over the data (every digit among them); it
    depends on the frames kept (at most 100).
    """
    import numpy as np

    from core.cache import cache_dir, folder_size
    from core.data import MnistData, load_mnist
    from core.params import TrainParams
    from core.train import train_mlp

    imported = perf_counter()
    data = load_mnist(data_home=data_home)
    picked = np.linspace(0, len(data.y) - 1, rows).astype(int)
    subset = MnistData(data.X[picked], data.y[picked], source=data.source,
                       note=f"{rows} rows spread over the data")
    params = TrainParams(hidden_units=36, digits=tuple(range(10)), max_iter=max_iter,
                         scale_pixels=True)
    began = perf_counter()
    result = train_mlp(params, subset)
    done = perf_counter()
    history = result.history
    return {"seconds": done - began, "imports": imported - START, "n_iter": result.n_iter,
            "frames": len(history.epochs), "history_bytes": history.nbytes,
            "entry_bytes": folder_size(cache_dir() / "models"), "rows": rows,
            "n_samples": result.n_samples}


def fetch_load(*, data_home: str) -> dict:
    """The lesson's data load alone: ``fetch_openml`` from scikit-learn's local cache."""
    from sklearn.datasets import fetch_openml

    imported = perf_counter()
    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                        data_home=data_home)
    done = perf_counter()
    return {"seconds": done - imported, "total": done - START, "imports": imported - START,
            "rows": len(y)}


def lens_load(*, data_home: str) -> dict:
    """MLP Lens's data load alone: ``load_mnist`` mapping its uint8 copy (and fingerprinting it).

    ``sklearn.datasets`` is imported before the clock starts, as in the fetch_openml row:
    ``load_mnist`` imports it on every call, which costs seconds in a fresh process.
    """
    import sklearn.datasets  # noqa: F401 - same footing as the fetch_openml row

    from core.data import load_mnist

    imported = perf_counter()
    data = load_mnist(data_home=data_home)
    done = perf_counter()
    return {"seconds": done - imported, "total": done - START, "imports": imported - START,
            "rows": len(data.y), "source": data.source, "note": data.note,
            "counts": data.counts(range(10)), "from_copy": data.path is not None}


def page(*, app: str, reruns: int, query: dict) -> dict:
    """The Explore page in AppTest: a first run, then ``reruns`` reruns of the same session."""
    from statistics import median

    from streamlit.testing.v1 import AppTest

    imported = perf_counter()
    at = AppTest.from_file(app, default_timeout=1800)
    at.query_params.update(query)
    at.run()
    first = perf_counter() - imported
    problem = _page_problem(at)
    times = []
    for _ in range(reruns if not problem else 0):
        began = perf_counter()
        at.run()
        times.append(perf_counter() - began)
        problem = problem or _page_problem(at)
    return {"seconds": median(times) if times else None, "first_run": first, "reruns": times,
            "imports": imported - START, "total": perf_counter() - START, "problem": problem}


def charts(*, data_home: str | None, max_iter: int, repeats: int = 20) -> dict:
    """The Explore page's loss chart, drawn ``repeats`` times as the page draws it now (a
    Vega-Lite spec) and as it did before (``st.line_chart``, through Altair), outside a page
    run (Streamlit's bare mode: the element is built, then dropped)."""
    import logging
    from statistics import median

    import streamlit as st

    from core.data import load_mnist
    from core.params import TrainParams
    from core.process import configure_process
    from core.train import train_mlp
    from ui.render import loss_chart

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext"
    configure_process()
    result = train_mlp(TrainParams(max_iter=max_iter), load_mnist(data_home=data_home))
    curve = result.loss_curve

    def timed(draw) -> float:
        times = []
        for _ in range(repeats):
            began = perf_counter()
            draw()
            times.append(perf_counter() - began)
        return median(times)

    ours = timed(lambda: loss_chart(curve))
    altair = timed(lambda: st.line_chart({"loss": list(curve)}, x_label="epoch",
                                         y_label="loss", height=220))
    return {"seconds": ours, "altair": altair, "points": len(curve), "repeats": repeats}


def _page_problem(at) -> str:
    """Why this run does not show a finished network from the cache ("" when it does)."""
    if at.exception:
        return "the page raised an exception"
    if at.get("progress"):
        return "the page started a training: the model was not in the cache"
    if at.error:
        return f"the page shows an error: {at.error[0].value}"
    if not at.get("image"):
        return "the page shows no weight grid"
    return ""


def class_run(*, data_home: str | None, visitors: int | None = None) -> dict:
    """A class (``bench.classroom``, 30 visitors unless ``visitors`` says) on a new server over
    this process's cache folder, its data copy primed: the goals are reported, not judged."""
    import os
    import tempfile
    from pathlib import Path

    from bench.classroom import CLASS_SIZE, measure_class

    visitors = visitors or CLASS_SIZE
    with tempfile.TemporaryDirectory(prefix="mlp-lens-class-") as tmp:
        run = measure_class(Path(tmp), data_home=data_home,
                            cache=Path(os.environ["MLP_LENS_CACHE"]), visitors=visitors)
    return {"seconds": run.queue_seconds, "visitors": visitors, "data": run.data,
            "load": run.load, "goals": [vars(goal) for goal in run.goals()],
            "cpu": run.cpu_queue.text(), "ms_per_message": run.training.ms_per_message,
            "table": run.table(), "problem": ""}


def _digest(arrays) -> str:
    """A short fingerprint of a network's weights, to check two fits are the same network."""
    import hashlib

    import numpy as np

    digest = hashlib.blake2b(digest_size=8)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


WORKLOADS = {f.__name__: f for f in (lesson_script, lens_train, seeds, sweep, capacity,
                                     fetch_load, lens_load, page, recording, history_size,
                                     charts, core_alone, watched, two_trainings, first_weights,
                                     first_visit, class_run)}


def main(argv: list[str]) -> None:
    """Run the named workload with its JSON keyword arguments; print the result line."""
    name, arguments = argv[1], json.loads(argv[2])
    result = WORKLOADS[name](**arguments)
    result["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(MARKER, json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
