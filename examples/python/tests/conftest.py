import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


@pytest.fixture(scope="session")
def azurite():
    """Where tests/capi/with_azurite.py uploaded the test tree (ctest runs pytest under it)."""
    if "DP_CAPI_FOLDER" not in os.environ:
        pytest.fail("run through ctest: tests/capi/with_azurite.py sets DP_CAPI_* (the test data)")
    return {k[len("DP_CAPI_"):].lower(): v for k, v in os.environ.items() if k.startswith("DP_CAPI_")}
