"""Replicas provisioning the same users and teams at the same moment (issue 15: two `vigil up`
started together on one PostgreSQL): no unique-key error, one row per user and team."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from vigil.access import AccessService, apply_people
from vigil.config import load_config_text

CONFIG = """
users:
  - name: ann
    role: admin
    password_hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$0qGbzQbq0Ky0qWb1wq7YQ1y2LQ1Y3R4v5g6h7i8j9k0"
    contacts:
      - {kind: email, address: ann@example.com}
  - name: bob
    role: responder
teams:
  - name: ops
    members: [ann, bob]
"""


def test_two_replicas_provision_the_same_people_at_once(two_stores, tmp_path) -> None:
    config = load_config_text(CONFIG, "vigil.yml")
    barrier = threading.Barrier(2)

    def provision(store) -> None:
        service = AccessService(store.access)
        barrier.wait()
        for _ in range(5):
            apply_people(service, config.users, config.teams, base_dir=str(tmp_path))

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(provision, s) for s in two_stores]:
            future.result()  # raises the unique-key error, if any
    users = two_stores[0].access.users()
    assert [u.name for u in users] == ["ann", "bob"]
    assert [c.kind for c in users[0].contacts] == ["email"]
    assert [(t.name, t.members) for t in two_stores[1].access.teams()] == [("ops", ("ann", "bob"))]
