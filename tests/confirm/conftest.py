"""Ray for the tests of this package that start it."""

from tests.ray_fixtures import init_local_ray, ray_local  # noqa: F401  (fixtures)
