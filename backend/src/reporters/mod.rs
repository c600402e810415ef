//! Status targets. Each reporter reads the event bus, decides what to tell whom and writes
//! that to the outbox in the transaction of the change that caused it; [`outbox`] sends the
//! stored messages. One file per reporter kind; nothing here talks HTTP to Cascade's users.

pub mod outbox;
