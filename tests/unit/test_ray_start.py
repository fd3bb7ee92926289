"""A local Ray whose node misses Ray's start deadline on a busy machine is started again."""

from __future__ import annotations

import types

import pytest

from index.ray_embed import start_local_ray


class FlakyRay(types.ModuleType):
    """Stands in for the ray module: its first `failures` init calls raise `error`."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__("ray")
        self.failures, self.error = failures, error
        self.inits, self.shutdowns = 0, 0

    def init(self, **options: object) -> None:
        self.inits += 1
        assert options["address"] == "local"
        if self.inits <= self.failures:
            raise self.error

    def shutdown(self) -> None:
        self.shutdowns += 1


TIMED_OUT = Exception("The current node timed out during startup. This could happen because ...")


def test_a_node_that_timed_out_starting_is_shut_down_and_started_again():
    ray = FlakyRay(failures=1, error=TIMED_OUT)
    start_local_ray(ray, local_cpus=2)
    assert (ray.inits, ray.shutdowns) == (2, 1)


def test_it_gives_up_after_its_attempts_with_rays_own_error():
    ray = FlakyRay(failures=5, error=TIMED_OUT)
    with pytest.raises(Exception, match="timed out during startup"):
        start_local_ray(ray, local_cpus=2, attempts=3)
    assert (ray.inits, ray.shutdowns) == (3, 2)


def test_any_other_failure_is_not_retried():
    ray = FlakyRay(failures=1, error=ValueError("num_cpus must be positive"))
    with pytest.raises(ValueError, match="num_cpus"):
        start_local_ray(ray, local_cpus=2)
    assert (ray.inits, ray.shutdowns) == (1, 0)
