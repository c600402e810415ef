-- One builder's builds newest first (`GET /api/v1/builds?builder=B`, the builder page): one
-- index walk, where the (builder_id, number) and (builder_id, revision) indexes left every build
-- of the builder to sort.
create index builds_builder_id on builds(builder_id, id);
