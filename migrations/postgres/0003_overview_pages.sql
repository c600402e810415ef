-- What the overview pages (waterfall, grid, transposed grid, console) and their filters
-- query, indexed so that a page costs what it shows, never the history behind it.

-- The rest of a build's source stamp, copied like branch and revision: the grid's columns
-- are (branch, revision, codebase, project) keys, and the waterfall filters on project.
alter table builds add column codebase text not null default '';
alter table builds add column project text not null default '';
alter table builds add column repository text not null default '';
update builds set
    codebase = coalesce((select ss.codebase from buildrequests br
        join buildset_sourcestamps bss on bss.buildset_id = br.buildset_id
        join sourcestamps ss on ss.id = bss.sourcestamp_id
        where br.id = builds.buildrequest_id order by ss.id limit 1), ''),
    project = coalesce((select ss.project from buildrequests br
        join buildset_sourcestamps bss on bss.buildset_id = br.buildset_id
        join sourcestamps ss on ss.id = bss.sourcestamp_id
        where br.id = builds.buildrequest_id order by ss.id limit 1), ''),
    repository = coalesce((select ss.repository from buildrequests br
        join buildset_sourcestamps bss on bss.buildset_id = br.buildset_id
        join sourcestamps ss on ss.id = bss.sourcestamp_id
        where br.id = builds.buildrequest_id order by ss.id limit 1), '');

-- The waterfall walks builds backwards in time from `last_time`: all of them, or each
-- shown builder's (with or without a branch filter); the grid takes each builder's last
-- builds on a branch.
create index builds_time on builds(started_at, id);
create index builds_builder_started on builds(builder_id, started_at, id);
create index builds_builder_branch on builds(builder_id, branch, started_at, id);

-- Every page (and the dispatcher, every second) counts each builder's waiting requests:
-- only unfinished requests are indexed, so the count costs the queue, not the history.
create index buildrequests_waiting on buildrequests(claimed_by, builder_id) where complete = 0;

-- The waterfall's changes column walks changes backwards in arrival time; the console
-- pages through the newest changes of a repository, project, codebase or author.
create index changes_created on changes(created_at, id);
create index changes_repository on changes(repository, id);
create index changes_project on changes(project, id);
create index changes_codebase on changes(codebase, id);
create index changes_author on changes(author, id);
