-- `/png?builder=B&revision=R` answers with the builder's newest build of a revision: one
-- index seek, however long the history.
create index builds_builder_revision on builds(builder_id, revision, number);

-- The feeds list a builder's failed builds (failure 2, exception 4) newest first: only
-- failed builds are in this index, so a feed costs the entries it shows even when failures
-- are rare. Queries spell the condition exactly as here, with literal numbers, so that both
-- planners may use it.
create index builds_builder_failed on builds(builder_id, started_at, id) where results in (2, 4);
