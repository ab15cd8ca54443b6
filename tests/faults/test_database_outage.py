"""The database stopped for 20 s under API load: 503s (never a 500) while it is down, then the same
web and scheduler processes carry on when it is back, without a restart."""
from __future__ import annotations

import re
import socket
import threading
import time
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.service import create_user
from app.clock import utcnow
from app.extensions import db
from app.ops.heartbeats import latest_beats
from app.scheduling.models import Deadline
from tests.processes import wait_for

pytestmark = pytest.mark.slow
OUTAGE_SECONDS = 20
NOTICED = re.compile(r"^(\S+ \S+) WARNING app\.scheduling\.leadership: deadline scheduler: lost the leadership", re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Load:
    """Threads that list, declare and ask /healthz in a loop, recording every answer with its time."""

    def __init__(self, base: str, token: str, threads: int = 4) -> None:
        self.base, self.token = base, token
        self.answers: list[tuple[float, str, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _run(self) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        declaration = {"title": "压力测试故障", "description": "数据库中断演练", "services": ["mobile_data"],
                       "regions": ["杭州"]}
        calls = [("GET", "/api/v1/incidents?per_page=5", None), ("POST", "/api/v1/incidents", declaration),
                 ("GET", "/healthz", None)]
        while not self.stop.is_set():
            for method, path, body in calls:
                try:
                    status = session.request(method, self.base + path, json=body, timeout=15).status_code
                except requests.RequestException as exc:
                    status = -1
                    print(f"{method} {path}: {exc}")
                self.answers.append((time.monotonic(), f"{method} {path.split('?')[0]}", status))
            self.stop.wait(0.05)

    def since(self, moment: float, until: float = float("inf")) -> list[tuple[str, int]]:
        return [(call, status) for at, call, status in list(self.answers) if moment <= at < until]


def test_database_stopped_for_20_seconds_under_load(fault_app, processes, private_postgres):
    _, token = create_user("operator-faults", Role.operator)
    create_user("manager-faults", Role.duty_manager, on_call=True, phone="+8613800138000")
    db.session.commit()
    port = free_port()
    web = processes.start("web", "serve", "--port", str(port), NOC_IN_PROCESS_WORKERS="0")
    scheduler = processes.start("scheduler", "scheduler", "run", "--poll", "0.5")
    base = f"http://127.0.0.1:{port}"

    def web_up() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    wait_for(web_up, 60, "the web server to answer")
    with Load(base, token) as load:
        warm = time.monotonic()
        wait_for(lambda: len(load.since(warm)) >= 30, 60, "answers before the outage")
        private_postgres.stop()
        stopped_at, stopped_wall = time.monotonic(), datetime.now()
        threading.Event().wait(OUTAGE_SECONDS)
        restarting = time.monotonic()
        private_postgres.start()
        back_wall = utcnow()
        back = time.monotonic()

        def recovered() -> bool:
            latest = load.since(back)[-9:]
            return len(latest) == 9 and all(status < 300 for _, status in latest)

        wait_for(recovered, 60, "answers to succeed again", every=0.2)
        recovered_at = time.monotonic()
        settled = time.monotonic()
        wait_for(lambda: len(load.since(settled)) >= 30, 60, "answers after the recovery")

    everything = load.since(0)
    during = load.since(stopped_at + 1, restarting)
    after = load.since(recovered_at)
    statuses = sorted({status for _, status in everything})
    assert not [a for a in everything if a[1] >= 500 and a[1] != 503 or a[1] < 0], statuses   # no 500, no hang-up
    assert during and {status for _, status in during} == {503}, sorted(set(during))
    assert all(status < 300 for _, status in after), sorted(set(after))
    assert web.poll() is None and scheduler.poll() is None                      # nobody was restarted
    print(f"{len(everything)} answers: {len(during)} during the outage (all 503), "
          f"recovered {recovered_at - back:.1f} s after the database was back")

    # The scheduler noticed the loss in seconds, and judges again with the database back.
    log = processes.log(scheduler)
    noticed = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S,%f") for m in NOTICED.findall(log)]
    assert noticed and noticed[0] >= stopped_wall - timedelta(seconds=1), log[-3000:]
    print(f"the scheduler noticed the lost database {(noticed[0] - stopped_wall).total_seconds():.1f} s after the stop")
    answer = requests.post(base + "/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}, timeout=15,
                           json={"title": "恢复后的故障", "description": "", "services": ["core_network"],
                                 "regions": ["杭州"], "detected_at": (utcnow() - timedelta(days=1)).isoformat()})
    assert answer.status_code == 201, answer.text
    wait_for(lambda: db.session.scalar(select(func.count()).select_from(Deadline).where(
        Deadline.incident_id == answer.json()["id"], Deadline.state == "breached")) >= 3, 60,
        "the same scheduler to judge again")
    wait_for(lambda: [b for b in latest_beats("scheduler") if b.beat_at > back_wall and b.role == "active"], 30,
             "the scheduler's heartbeat, active again")
    assert requests.get(base + "/healthz", timeout=15).json()["checks"]["database"]["ok"] is True
