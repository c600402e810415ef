-- A change's files are written by the statement after the one that writes the change, in the
-- same transaction and with the id it was just given, and changes are never deleted: the
-- foreign key from change_files to changes guarded nothing the code could get wrong, yet its
-- trigger ran a query for every file of every change a hook stored (a lookup and a row lock
-- on the change): a signed GitHub push is stored a fifth faster without it. The index on
-- change_id stays. Nothing cascades from changes to their files any more: whatever deletes
-- a change deletes its files.
alter table change_files drop constraint change_files_change_id_fkey;
