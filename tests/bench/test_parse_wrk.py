"""wrk's output read right: the percentiles from the distribution, never from the stdev column."""

from bench.drivers import parse_wrk

WRK = """Running 5s test @ http://127.0.0.1:8000/v1/videos/x
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.21ms    0.31ms   8.00ms   95.99%
    Req/Sec    28.50k     1.20k   30.10k    69.00%
  Latency Distribution
     50%    2.18ms
     75%    2.30ms
     90%    2.50ms
     99%  310.00us{space}
  142500 requests in 5.00s, 20.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:  28500.00
Transfer/sec:      4.00MB
""".format(space=" ")  # wrk pads some values with a trailing space


def test_percentiles_come_from_the_distribution_even_when_a_stdev_ends_in_99() -> None:
    sample = parse_wrk(WRK, expect=200)
    assert (sample.rps, sample.p50, sample.p99, sample.requests, sample.errors) == (
        28500.0,
        2.18,
        0.31,
        142500,
        3,
    )
