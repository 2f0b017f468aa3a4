"""--checkpoint RUN --serve: the real server process, over loopback, as a client would use it.

Two tiny runs (forecast on the cosine wave, sentiment on a slice of rt_polarity) are trained once for the
module; each gets a server, started as a user would (python main.py ... --serve --port N).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import REPO, cli_env, one_line_error, same, shared_data_root

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

RT_POLARITY = shared_data_root() / "sentiment" / "rt_polarity"
TEXTS = ["a witty , warm and wonderful film", "a dull , lifeless mess", "the plot goes nowhere",
         "an utterly charming , funny and moving film", "bad", "good fun", "it is neither here nor there",
         "one of the year 's best"]
SERIES = ",".join(f"{v:.3f}" for v in [0.1 * i for i in range(20)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "main.py"), *args, "--threads", "1"], cwd=cwd, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not RT_POLARITY.is_dir():
        pytest.skip(f"no {RT_POLARITY}")
    where = tmp_path_factory.mktemp("serve")
    jobs = {"forecast": train("--task", "forecast", "--data", "cosine", "--hidden", "4", "--max-epochs", "1",
                              "--lookback", "16", "--horizon", "4", "--model", "sequence", "--run-dir", str(where / "forecast"), cwd=where),
            "sentiment": train("--task", "sentiment", "--data", str(RT_POLARITY), "--limit", "600", "--hidden", "8",
                               "--embedding-dim", "8", "--max-epochs", "1", "--run-dir", str(where / "sentiment"),
                               cwd=where)}
    for name, job in jobs.items():
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, f"{name}: {err}"
    return {name: where / name for name in jobs}


class Server:
    def __init__(self, run: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--checkpoint", str(run), "--serve",
                                      "--port", str(self.port), *extra], cwd=run.parent, env=cli_env(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait(self) -> Server:
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.proc.communicate()
            try:
                if self.client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            time.sleep(0.2)
        return self

    def post(self, body=None, **kwargs) -> httpx.Response:
        return self.client.post("/predict", json=body, **kwargs) if body is not None else \
            self.client.post("/predict", **kwargs)

    def stop(self, signum=signal.SIGTERM) -> tuple[int, str, str]:
        if not hasattr(self, "ended"):
            self.client.close()
            self.proc.send_signal(signum)
            out, err = self.proc.communicate(timeout=60)
            self.ended = self.proc.returncode, out, err
        return self.ended


@pytest.fixture(scope="module")
def servers(runs):
    """Both servers, started at once (each loads torch and its model: seconds)."""
    started = {"sentiment": Server(runs["sentiment"], "--batch-wait-ms", "40", "--max-batch", "16"),
               "forecast": Server(runs["forecast"])}
    yield {name: server.wait() for name, server in started.items()}
    for server in started.values():
        server.stop()


@pytest.fixture(scope="module")
def sentiment(servers):
    return servers["sentiment"]


@pytest.fixture(scope="module")
def forecast(servers):
    return servers["forecast"]


@pytest.fixture(scope="module")
def expected(runs):
    """What --predict answers (as data, through the API the CLI shares), for every input used here."""
    from suite import api

    model = api.load(runs["sentiment"])
    answers = {text: model.predict(text) for text in TEXTS}
    series = api.load(runs["forecast"])
    return {"sentiment": answers, "forecast": {SERIES: series.predict(SERIES), "cosine": series.predict("cosine")}}


def test_one_input_and_a_list_answer_what_predict_does(sentiment, expected):
    answers = expected["sentiment"]
    one = sentiment.post({"input": TEXTS[0]})
    assert one.status_code == 200 and one.headers["content-type"] == "application/json"
    assert same(one.json(), answers[TEXTS[0]])
    many = sentiment.post({"inputs": TEXTS})
    assert many.status_code == 200 and same(many.json(), [answers[t] for t in TEXTS])


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(sentiment, expected):
    answers, got, failures = expected["sentiment"], {}, []
    before = sentiment.client.get("/health").json()

    def client(k: int) -> None:
        with httpx.Client(base_url=sentiment.url, timeout=30) as c:
            for j in range(4):
                text = TEXTS[(k + j) % len(TEXTS)]
                r = c.post("/predict", json={"input": text})
                if r.status_code != 200:
                    failures.append(r.text)
                got[(k, j)] = (text, r.json())

    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(got) == 48
    assert all(same(answer, answers[text]) for text, answer in got.values())
    health = sentiment.client.get("/health").json()
    assert health["requests"] - before["requests"] == 48
    assert health["batches"] - before["batches"] < 48 and health["largest_batch"] > 1  # they were batched


def test_a_bad_input_fails_its_own_request_only_not_its_batch(sentiment, expected):
    answers, results = expected["sentiment"], {}

    def send(name: str, body: dict) -> None:
        with httpx.Client(base_url=sentiment.url, timeout=30) as c:
            results[name] = c.post("/predict", json=body)

    bodies = {"bad": {"inputs": ["fine", "   "]}, **{f"good{i}": {"input": TEXTS[i]} for i in range(6)}}
    threads = [threading.Thread(target=send, args=item) for item in bodies.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["bad"].status_code == 422
    assert results["bad"].json() == {"error": "inputs[1]: the text is empty"}
    for i in range(6):
        assert results[f"good{i}"].status_code == 200 and same(results[f"good{i}"].json(), answers[TEXTS[i]])


BAD_REQUESTS = {
    "malformed JSON": (dict(content=b'{"input": "unterminated', headers={"content-type": "application/json"}), 400),
    "empty body": (dict(content=b"", headers={"content-type": "application/json"}), 400),
    "oversized body": (dict(content=b'{"input": "' + b"a" * (1 << 20) + b'"}',
                            headers={"content-type": "application/json"}), 413),
    "wrong content type": (dict(content=b'{"input": "good"}', headers={"content-type": "text/plain"}), 415),
    "no content type": (dict(content=b'{"input": "good"}'), 415),
    "not an object": (dict(json=["good"]), 422),
    "a number as input": (dict(json={"input": 3}), 422),
    "a number in the list": (dict(json={"inputs": ["good", 3]}), 422),
    "both fields": (dict(json={"input": "a", "inputs": ["b"]}), 422),
    "an unknown field": (dict(json={"text": "good"}), 422),
    "an empty list": (dict(json={"inputs": []}), 422),
    "a list over the limit": (dict(json={"inputs": ["good"] * 257}), 413),
    "a text without words": (dict(json={"input": "   "}), 422),
}


@pytest.mark.parametrize("kind", list(BAD_REQUESTS))
def test_a_bad_request_is_a_4xx_with_one_line_json(sentiment, kind):
    kwargs, status = BAD_REQUESTS[kind]
    response = sentiment.client.post("/predict", **kwargs)
    assert response.status_code == status, response.text
    assert "\n" not in response.text.strip() and "Traceback" not in response.text
    body = response.json()
    assert list(body) == ["error"] and body["error"]
    assert sentiment.client.get("/health").status_code == 200  # still serving


def test_unknown_paths_and_methods_are_one_line_json(sentiment):
    for response, status in ((sentiment.client.get("/nowhere"), 404), (sentiment.client.get("/predict"), 405)):
        assert response.status_code == status and list(response.json()) == ["error"]


def test_info_health_and_the_openapi_schema(sentiment, runs):
    info = sentiment.client.get("/info").json()
    assert info["task"] == "sentiment" and info["input_kind"] == "text" and info["output_kind"] == "label"
    results = json.loads((runs["sentiment"] / "results.json").read_text())
    assert info["metrics"] == results["metrics"] and info["config"]["task"] == "sentiment"
    assert info["serving"]["max_batch"] == 16 and info["serving"]["batch_wait_ms"] == 40
    assert "/predict" in sentiment.client.get("/openapi.json").json()["paths"]
    assert sentiment.client.get("/docs").status_code == 200


def test_forecast_answers_inline_values_and_never_reads_a_file(forecast, expected, tmp_path):
    for raw in (SERIES, "cosine"):
        response = forecast.post({"input": raw})
        assert response.status_code == 200 and same(response.json(), expected["forecast"][raw])
    table = tmp_path / "series.csv"
    table.write_text("value\n" + "\n".join(str(i) for i in range(40)) + "\n")
    for raw in (str(table), f"{table}@-20"):
        response = forecast.post({"input": raw})
        assert response.status_code == 422 and "reads no files" in response.json()["error"], response.text
    bad = forecast.post({"inputs": [SERIES, "1,2"]})
    assert bad.status_code == 422 and bad.json()["error"].startswith("inputs[1]: ")
    assert forecast.post({"inputs": [SERIES, SERIES]}).status_code == 200


def test_a_path_is_read_as_text_never_opened(sentiment, runs):
    for raw in (str(runs["sentiment"] / "results.json"), "/etc/passwd", "README.md"):
        answer = sentiment.post({"input": raw}).json()
        assert answer["text"] == raw and answer["label"] in ("neg", "pos") and "predictions" not in answer


def test_a_port_in_use_is_one_line_exit_2(sentiment, runs):
    busy = subprocess.run([sys.executable, str(REPO / "main.py"), "--checkpoint", str(runs["forecast"]), "--serve",
                           "--port", str(sentiment.port)], env=cli_env(), capture_output=True, text=True, timeout=120)
    assert busy.returncode == 2 and busy.stderr.strip() == (
        f"error: port {sentiment.port} on 127.0.0.1 is in use (another server?); choose another with --port")


@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "sentiment"), (signal.SIGINT, "forecast")])
def test_sigterm_and_ctrl_c_stop_the_server_cleanly(request, signum, name):
    server = request.getfixturevalue(name)
    served = server.client.get("/health").json()["requests"]
    code, out, err = server.stop(signum)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith(f"stopped by {signal.Signals(signum).name}: {served} requests")
    assert "Traceback" not in err and "error" not in err


@pytest.mark.parametrize("args, message", [
    (["--task", "forecast", "--serve"], "need --checkpoint"),
    (["--task", "forecast", "--port", "9000"], "--port belongs to --serve"),
])
def test_serve_flags_without_a_run_are_one_line(capsys, args, message):
    assert message in one_line_error(capsys, *args)


def test_serve_settings_are_checked_before_the_model_loads(capsys, runs):
    run = str(runs["forecast"])
    assert "--max-batch: at least 1" in one_line_error(capsys, "--checkpoint", run, "--serve", "--max-batch", "0")
    assert "--port: 70000 is not a port" in one_line_error(capsys, "--checkpoint", run, "--serve", "--port", "70000")
    assert "cannot be combined with --predict" in one_line_error(capsys, "--checkpoint", run, "--serve", "--predict",
                                                                 "1,2")


def test_the_text_only_guard_refuses_reads_on_its_thread_only(tmp_path):
    from suite.serving.textonly import FileRefused, refused, refusing_files

    path = tmp_path / "secret.txt"
    path.write_text("x")
    with refusing_files():
        with pytest.raises(FileRefused):
            path.read_text()
        assert refused() == str(path)
        other = []
        thread = threading.Thread(target=lambda: other.append(path.read_text()))
        thread.start()
        thread.join()
        assert other == ["x"]  # another thread is not held to it
        with open(tmp_path / "written.txt", "w") as handle:  # writing is not reading
            handle.write("y")
        import json as _json  # noqa: F401 - Python's own modules still import
    assert path.read_text() == "x"


def test_predict_in_front_of_fastapi_answers_as_the_documented_route():
    """The server's ASGI layer for POST /predict gives what FastAPI's /predict route gives, request for request
    (answers, every kind of bad request, a failed input), and hands every other request to FastAPI."""
    import asyncio
    from concurrent.futures import Future

    from suite.serving.app import create_app, create_server_app
    from suite.serving.batcher import RequestFailed

    class Lengths:
        """A batcher answering each input with its length; an input "bad" fails its request."""

        requests = batches = largest = 0

        def submit(self, inputs, single=False):
            answer = Future()
            if "bad" in inputs:
                answer.set_exception(RequestFailed(422, f"{'' if single else 'inputs[0]: '}the text is bad"))
            else:
                answer.set_result([len(x) for x in inputs])
            return answer

    json_type = {"content-type": "application/json"}
    asks = [dict(json={"input": "four"}), dict(json={"inputs": ["a", "bb"]}), dict(json={"input": "bad"}),
            dict(content=b'{"input": "unterminated', headers=json_type), dict(content=b"", headers=json_type),
            dict(content=b'{"input": "x"}', headers={"content-type": "text/plain"}),
            dict(content=b'{"input": "' + b"x" * 64 + b'"}', headers=json_type), dict(json={"input": 3}),
            dict(content=b'{"input": "x"}', headers={**json_type, "content-length": "ten"})]

    async def answers(app) -> list:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            got = [await client.post("/predict", **ask) for ask in asks]
            health = await client.get("/health")
        return [(r.status_code, r.headers["content-type"], r.json()) for r in got] + [health.json()["status"]]

    info = {"task": "lengths", "version": "1"}
    front = asyncio.run(answers(create_server_app(Lengths(), info, max_body=48)))
    documented = asyncio.run(answers(create_app(Lengths(), info, max_body=48)))
    assert front == documented
    assert [status for status, _, _ in front[:-1]] == [200, 200, 422, 400, 400, 415, 413, 422, 400]
    assert front[0][2] == 4 and front[1][2] == [1, 2] and front[-1] == "ok"
    assert front[2][2] == {"error": "the text is bad"}


class _Lengths:
    """A task stub: each input answered with its length."""

    name = "lengths"

    def predict_many(self, model, inputs, *, files=True):
        return [len(x) for x in inputs]


@pytest.mark.parametrize("peers, waits", [(3, False), (4, True), (None, True)])
def test_the_batch_wait_ends_once_every_open_connection_has_its_request_in(peers, waits):
    """Three requests and a long wait: with three connections open the batch goes at once (no fourth request
    can come); with a fourth connection, or the count unknown, it waits in full. One batch either way."""
    import torch  # noqa: F401 - imported by the worker's first call: not to be timed as waiting

    from suite.serving.batcher import Batcher

    wait = 0.6
    batcher = Batcher(_Lengths(), None, max_batch=32, wait_ms=wait * 1000,
                      peers=None if peers is None else (lambda: peers))
    batcher.start()
    try:
        start = time.monotonic()
        futures = [batcher.submit([text]) for text in ("a", "bb", "ccc")]
        assert [f.result(timeout=30) for f in futures] == [[1], [2], [3]]
        took = time.monotonic() - start
    finally:
        batcher.stop()
    assert batcher.batches == 1 and batcher.largest == 3
    assert (took >= wait) if waits else (took < wait / 2), took
