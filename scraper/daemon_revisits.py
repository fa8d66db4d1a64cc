"""Revisits in `scraper run`: claimed in the room the archive job's claim of new work left, at most
`[revisit] share` of the daemon's article tasks, and run as tasks like any fetch (same politeness, same
leases, same cool-down for a unit that raises)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import MutableMapping
from functools import partial
from typing import TYPE_CHECKING

from scraper.hosts import host_key
from scraper.revisit import RevisitJob
from scraper.summary import RunSummary

if TYPE_CHECKING:
    from scraper.pipeline import Pipeline
    from scraper.task_pool import TaskPool


async def spawn_revisits(
    pipeline: Pipeline,
    tasks: TaskPool,
    in_flight: MutableMapping[int, str],
    room: int,
    capacity: int,
    revisiting: set[int],
) -> int:
    """Claim revisits for `room` tasks (new work took what it wanted first): while new work is in flight,
    never more revisits than the share of `capacity`; when there is none, the room. Start each as a task;
    returns how many."""
    work = pipeline.revisits
    if work is None:  # [revisit] is off
        return 0
    limit = room
    if len(in_flight) > len(revisiting):  # new work in hand: revisits keep to their share
        limit = min(room, max(1, int(capacity * work.share)) - len(revisiting))
    if limit <= 0 or not work.enabled:
        return 0
    jobs = await asyncio.to_thread(
        work.claim,
        limit,
        due_before=pipeline.clock(),
        per_host=pipeline.claims_per_host(),
        held=Counter(in_flight.values()),
    )
    for job in jobs:
        in_flight[job.article_id] = host_key(job.url)
        revisiting.add(job.article_id)
        tasks.spawn(_revisit_one(pipeline, tasks, job), partial(_done, in_flight, revisiting, job.article_id))
    return len(jobs)


async def _revisit_one(pipeline: Pipeline, tasks: TaskPool, job: RevisitJob) -> None:
    work = pipeline.revisits
    assert work is not None  # it claimed the job
    await tasks.guarded("article", job.article_id, work.run(job, RunSummary()))


def _done(in_flight: MutableMapping[int, str], revisiting: set[int], article_id: int) -> None:
    in_flight.pop(article_id, None)
    revisiting.discard(article_id)
