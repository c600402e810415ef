-- The outbox becomes usable by reporters and their senders.
--
-- key: the reporter's idempotency key for the message (for example the event and the
-- build it is about). One (reporter, key) is stored once, so recording the same decision
-- again, after a master died between an event and its row, adds nothing.
alter table outbox add column key text;
create unique index outbox_key on outbox(reporter, key);
-- claimed_by / claimed_at: the master sending the row and when it took it. A claim is a
-- lease: once claimed_at is older than the sender's lease another master may take the
-- row over, so a dead master's messages are still sent.
alter table outbox add column claimed_by integer;
alter table outbox add column claimed_at integer;
-- failed_at: set when a delivery failed for good; such a row is no longer retried unless
-- an admin asks for it.
alter table outbox add column failed_at integer;
-- A sender looks for its reporter's unsent rows in id order and for the earliest one not
-- due yet; sent and failed rows, the bulk of the table, stay out of this index.
drop index outbox_pending;
create index outbox_pending on outbox(reporter, next_attempt_at, id) where sent_at is null and failed_at is null;
