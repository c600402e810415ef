-- `/png?builder=B&revision=R` answers with the builder's newest build of a revision: one
-- index seek, however long the history.
create index builds_builder_revision on builds(builder_id, revision, number);

-- The feeds list failed builds (failure 2, exception 4) newest first, of every builder or
-- of some: only failed builds are in these two indexes, so a feed costs the entries it
-- shows even when failures are rare. Queries spell the condition exactly as here, with
-- literal numbers, so that both planners may use them.
create index builds_failed on builds(started_at, id) where results in (2, 4);
create index builds_builder_failed on builds(builder_id, started_at, id) where results in (2, 4);
