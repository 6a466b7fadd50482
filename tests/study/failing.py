"""A user's generator (``tests.study.failing:model``) that fails on purpose for some parameters:
the runner must record those failures and go on with the other tasks."""

from treemarket.testing import random_model

MESSAGE = "this generator fails on purpose"


def model(rng, buyers: int = 2, fail: bool = False):
    if fail:
        raise ValueError(MESSAGE)
    return random_model(rng, horizon=2, buyers=buyers, supply=1)
