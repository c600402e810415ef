-- A worker's page lists the builds it ran, newest first: one index walk per page.
create index builds_worker on builds(worker_id, id);
