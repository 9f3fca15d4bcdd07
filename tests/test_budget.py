"""The server-wide training budget: one line for trainers, for every job (live runs, seeds)."""

import time

from core.budget import Budget, ordinal, place_text
from core.compare import SeedTraining
from core.jobs import start as start_training
from core.params import TrainParams
from core.train import is_trained

LONG = 1000  # max_iter of a training the test ends itself


def _until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_tickets_are_granted_up_to_the_limit_then_first_come_first_served():
    trainers = Budget(2)
    first, second, third, fourth = (trainers.request(name) for name in "abcd")
    assert first.granted and second.granted
    assert (third.place, fourth.place) == (1, 2)
    fourth.release()  # leaving the line moves nobody ahead of it
    assert third.place == 1 and trainers.waiting == 1
    first.release()
    assert third.granted and third.place == 0 and trainers.busy == 2
    first.release()  # twice: nothing more is freed
    assert trainers.busy == 2 and trainers.peak == 2


def test_the_budget_and_the_timeout_come_from_the_environment(monkeypatch):
    from core.budget import unwatched_seconds

    monkeypatch.setenv("MLP_LENS_MAX_TRAININGS", "3")
    monkeypatch.setenv("MLP_LENS_UNWATCHED_SECONDS", "7.5")
    assert Budget().limit == 3 and unwatched_seconds() == 7.5
    monkeypatch.setenv("MLP_LENS_MAX_TRAININGS", "lots")
    assert Budget().limit >= 1  # an unusable value falls back to the number of cores


def test_places_read_as_a_person_would_say_them():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    assert place_text(2) == "waiting for a free trainer: 2nd in line"


def test_a_live_training_waits_in_line_while_the_trainers_are_busy(small):
    """With one trainer, a second network waits (its place is shown) until the first ends."""
    trainers = Budget(1)
    first = start_training(TrainParams(max_iter=LONG, scale_pixels=True, random_state=61), small,
                           session="a", trainers=trainers)
    second = start_training(TrainParams(max_iter=20, scale_pixels=True, random_state=62), small,
                            session="b", trainers=trainers)
    assert _until(lambda: first.snapshot() is not None)
    assert second.place == 1 and second.snapshot() is None
    assert trainers.busy == 1
    first.release("a", stop=True)
    assert second.wait(60) and second.result is not None and not second.result.stopped
    assert trainers.busy == 0 and trainers.peak == 1


def test_a_training_nobody_watches_stops_uncached_and_trains_again_on_request(small):
    # A small step: the loss keeps falling, so it cannot converge and end before the test.
    params = TrainParams(max_iter=LONG, scale_pixels=True, random_state=63, hidden_units=20,
                         learning_rate_init=1e-4)
    trainers = Budget(1)
    run = start_training(params, small, session="a", trainers=trainers, unwatched_after=1.0)

    def first_epoch_watched() -> bool:  # the page polls while its worker starts, too
        run.seen("a")
        return run.snapshot() is not None

    assert _until(first_epoch_watched)
    for _ in range(4):  # a page polls: the run goes on
        run.seen("a")
        time.sleep(0.4)
    assert not run.done
    assert run.wait(20), "an unwatched training should stop"
    assert run.abandoned and run.result is None and run.error is None
    assert not is_trained(params, small)
    assert trainers.busy == 0
    again = start_training(params, small, session="b", trainers=trainers, unwatched_after=1.0)
    assert again is not run  # asked again: a new training
    again.release("b", stop=True)
    assert again.wait(30)


def test_a_waiting_training_nobody_watches_leaves_the_line(small):
    trainers = Budget(1)
    held = trainers.request("someone else")
    try:
        run = start_training(TrainParams(max_iter=5, scale_pixels=True, random_state=64), small,
                             session="a", trainers=trainers, unwatched_after=0.5)
        assert run.wait(10) and run.abandoned and run.pid is None  # no worker started
        assert trainers.waiting == 0
    finally:
        held.release()


def test_seed_workers_and_live_trainings_share_one_budget(sample):
    """A live training holds the only trainer: the seeds wait in line, then one runs at a time."""
    trainers = Budget(1)
    live = start_training(TrainParams(max_iter=LONG, scale_pixels=True, random_state=65), sample,
                          session="a", trainers=trainers)
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=6), (66, 67), sample, n_jobs=2,
                        trainers=trainers)
    assert _until(lambda: work.poll()[66].state == "waiting" and live.snapshot() is not None)
    assert [work.jobs[seed].place for seed in (66, 67)] == [1, 2]
    assert all(work.job(seed).pid is None for seed in (66, 67))  # no worker yet
    live.release("a", stop=True)
    most = 0
    deadline = time.monotonic() + 120
    while not work.finished and time.monotonic() < deadline:
        alive = sum(work.job(seed).pid is not None and not work.job(seed).done
                    for seed in (66, 67))
        most = max(most, alive)
        time.sleep(0.05)
    ended = {seed: (job.state, job.error) for seed, job in work.jobs.items()}
    assert work.finished and all(state == "done" for state, _ in ended.values()), ended
    assert most == 1 and trainers.peak == 1 and trainers.busy == 0


def test_seed_workers_nobody_watches_are_stopped(sample):
    trainers = Budget(2)
    work = SeedTraining(TrainParams(scale_pixels=True, max_iter=LONG, hidden_units=30), (68,),
                        sample, trainers=trainers, unwatched_after=1.0)
    job = work.job(68)
    # Read without poll(): nobody watches (on a busy machine it may stop before an epoch).
    assert _until(lambda: job.snapshot() is not None or job.done)
    assert job.wait(20) and job.abandoned and job.state == "stopped"
    assert work.poll()[68].state == "stopped" and trainers.busy == 0
    work.retry(68)  # asked again: it goes back in line and trains
    assert work.job(68) is not job
    assert _until(lambda: work.poll()[68].epoch > 0)
    work.stop()
    assert work.job(68).wait(10) and trainers.busy == 0


def test_a_held_training_gives_its_trainer_back_and_waits_in_line_to_go_on(small):
    """Paused, a training holds no trainer: another visitor's training takes it. Resumed, it
    waits in line (its place shown) without training, and goes on once a trainer is free."""
    trainers = Budget(1)
    slow = {"max_iter": LONG, "scale_pixels": True, "hidden_units": 20,
            "learning_rate_init": 1e-4}  # cannot converge before the test is done with it
    first = start_training(TrainParams(random_state=65, **slow), small, session="a",
                           trainers=trainers)
    second = None
    try:
        assert _until(lambda: first.snapshot() is not None)
        first.pause()
        assert _until(lambda: first.held)
        assert trainers.busy == 0
        second = start_training(TrainParams(random_state=66, **slow), small, session="b",
                                trainers=trainers)
        assert _until(lambda: second.snapshot() is not None)  # it got the freed trainer
        first.resume()
        assert _until(lambda: first.place == 1)
        held_at = first.snapshot().epoch
        time.sleep(0.5)
        assert first.snapshot().epoch == held_at and not first.held  # in line, not training
        second.release("b", stop=True)
        assert second.wait(30)
        assert _until(lambda: first.snapshot().epoch > held_at)  # it goes on
        assert first.place == 0 and trainers.busy == 1
    finally:
        first.release("a", stop=True)
        if second is not None:
            second.release("b", stop=True)
    assert first.wait(30) and trainers.busy == 0
