import os

import pytest

from tests.core.factories import TermsVersionFactory
from tests.customers.factories import CustomerFactory, StaffFactory, UnitFactory
from tests.notifications.live import Worker, celery_publishing_to, worker_env


@pytest.fixture(autouse=True)
def _broker_not_paused(monkeypatch):
    """Each test starts with a process that has not seen the broker refuse a hand-over."""
    from notifications import tasks

    monkeypatch.setattr(tasks, "_broker", tasks._Broker())


@pytest.fixture
def world(service_open):
    """Who takes part in the live tests: a customer with a unit, the terms, an operator."""
    terms = TermsVersionFactory()
    customer = CustomerFactory(language="en")
    unit = UnitFactory(customer=customer)
    operator = StaffFactory(email="operator@example.com")
    return {"terms": terms, "customer": customer, "unit": unit, "operator": operator}


@pytest.fixture
def start_worker(live_database, smtp_sink, tmp_path):
    """Start real workers against a broker; every one is stopped before the database is flushed."""
    workers: list[Worker] = []

    def start(broker_url: str, *, name: str = "w", concurrency: int = 2, **env) -> Worker:
        worker = Worker(
            env=worker_env(
                database_url=live_database,
                broker_url=broker_url,
                smtp_url=smtp_sink.url,
                **env,
            ),
            log_path=tmp_path / f"worker-{name}-{len(workers)}.log",
            name=f"notif-{name}-{len(workers)}-{os.getpid()}",
            concurrency=concurrency,
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def publish_to():
    """Make the test process publish to a real broker for the rest of the test."""
    stack = []

    def use(broker_url: str):
        context = celery_publishing_to(broker_url)
        context.__enter__()
        stack.append(context)

    yield use
    while stack:
        stack.pop().__exit__(None, None, None)
