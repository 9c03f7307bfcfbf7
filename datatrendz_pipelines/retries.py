"""The retry policy of steps that talk to PostgreSQL, MLflow or the network.

A refused connection, a restarting server or a dropped socket usually clears within seconds: the
step is tried again after 5 s, 10 s and 20 s (each +/- a random share, so retries of parallel
runs do not arrive together). Steps that only touch local files get no retry: a second try
would fail the same way.
"""

import dagster as dg

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
