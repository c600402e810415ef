-- Where each property of a build set and of a build came from ("Builder", "Scheduler",
-- "Change", "Force Build Form", "Build", "Worker"), shown beside the values on the build
-- page as Buildbot does. A JSON object of property name to source, next to `properties`.
alter table buildsets add column property_sources text not null default '{}';
alter table builds add column property_sources text not null default '{}';
