//! The change hook delivery log.

use sqlx::FromRow;

use super::query::insert_rows;
use super::{Conn, DbError, DbResult, on_conn};

/// One recorded hook request.
#[derive(Clone, Debug, Default, FromRow)]
pub struct Delivery {
    /// Its id (0 before it is stored).
    pub id: i64,
    /// The dialect addressed.
    pub dialect: String,
    /// Epoch seconds.
    pub received_at: i64,
    /// The client's address.
    pub source_addr: String,
    /// The forge's event type, when sent.
    pub event: Option<String>,
    /// The HTTP status answered.
    pub status: i64,
    /// What happened, in words.
    pub outcome: String,
    /// JSON list of the change ids created.
    pub change_ids: String,
    /// JSON object of the headers, secrets removed.
    pub headers: String,
    /// The body's media type.
    pub content_type: Option<String>,
    /// The body, up to the storage limit, as `body_encoding` says: read back, always as it
    /// came ([`Delivery::keep_body`] stores it).
    pub body: Option<Vec<u8>>,
    /// How `body` is encoded: `zstd`, or `None` for as it came.
    pub body_encoding: Option<String>,
    /// Whether the body was cut.
    pub body_truncated: i64,
    /// The delivery this one replays.
    pub replay_of: Option<i64>,
}

/// Bodies smaller than this are stored as they came: compressing them gains nothing.
const COMPRESS_FROM: usize = 512;

/// The encoding of a compressed body.
const ZSTD: &str = "zstd";

impl Delivery {
    /// Keeps `raw` as the delivery's body, compressed (zstd's fastest level: a GitHub push's
    /// 8.7 kB of JSON become under 2 kB), unless that does not make it smaller. Called where
    /// the request is handled, so that bodies are compressed side by side on the runtime's
    /// threads, not one after the other where a batch of them is stored.
    pub fn keep_body(&mut self, raw: &[u8]) {
        let compressed = (raw.len() >= COMPRESS_FROM)
            .then(|| COMPRESSOR.with_borrow_mut(|c| c.as_mut().ok()?.compress(raw).ok()))
            .flatten()
            .filter(|c| c.len() < raw.len());
        (self.body, self.body_encoding) = match compressed {
            Some(c) => (Some(c), Some(ZSTD.to_owned())),
            None => (Some(raw.to_vec()), None),
        };
    }

    /// The body as it came, from the body as stored.
    fn decoded(mut self) -> DbResult<Delivery> {
        match (self.body_encoding.as_deref(), &self.body) {
            (None, _) | (Some(_), None) => {}
            (Some(ZSTD), Some(stored)) => {
                let raw = zstd::stream::decode_all(stored.as_slice()).map_err(|e| {
                    DbError::Unavailable(format!("the body of hook delivery {} is corrupt: {e}", self.id))
                })?;
                self.body = Some(raw);
            }
            (Some(other), Some(_)) => {
                return Err(DbError::Unavailable(format!(
                    "the body of hook delivery {} is stored as `{other}`, which this master cannot read",
                    self.id
                )));
            }
        }
        self.body_encoding = None;
        Ok(self)
    }
}

thread_local! {
    /// Each thread's compression context: making one allocates and clears hundreds of kB.
    static COMPRESSOR: std::cell::RefCell<std::io::Result<zstd::bulk::Compressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(1));
}

const INSERT: &str = "insert into hook_deliveries (dialect, received_at, source_addr, event, status, outcome, \
    change_ids, headers, content_type, body, body_encoding, body_truncated, replay_of) values ";

/// Records a delivery.
pub async fn insert(conn: Conn<'_>, d: &Delivery) -> DbResult<i64> {
    insert_many(conn, vec![d.clone()]).await?.first().copied().ok_or(DbError::NotFound)
}

/// Records deliveries with as few statements as their number allows; their ids, in order.
/// Takes them by value: their bodies are bound as they are, not copied.
pub async fn insert_many(conn: Conn<'_>, deliveries: Vec<Delivery>) -> DbResult<Vec<i64>> {
    let rows = deliveries
        .into_iter()
        .map(|d| {
            vec![
                d.dialect.into(),
                d.received_at.into(),
                d.source_addr.into(),
                d.event.into(),
                d.status.into(),
                d.outcome.into(),
                d.change_ids.into(),
                d.headers.into(),
                d.content_type.into(),
                d.body.into(),
                d.body_encoding.into(),
                d.body_truncated.into(),
                d.replay_of.into(),
            ]
        })
        .collect();
    insert_rows(conn, INSERT, rows, true).await
}

#[derive(FromRow)]
struct Summary {
    id: i64,
    dialect: String,
    received_at: i64,
    source_addr: String,
    event: Option<String>,
    status: i64,
    outcome: String,
    change_ids: String,
    headers: String,
    content_type: Option<String>,
    body_truncated: i64,
    replay_of: Option<i64>,
}

const LIST: &str = "select id, dialect, received_at, source_addr, event, status, outcome, change_ids, headers, \
    content_type, body_truncated, replay_of from hook_deliveries \
    where ($1 = '' or dialect = $1) order by id desc limit $2 offset $3";

/// Deliveries newest first, without their bodies.
pub async fn list(conn: Conn<'_>, dialect: &str, limit: i64, offset: i64) -> DbResult<Vec<Delivery>> {
    let rows: Vec<Summary> =
        on_conn!(conn, c => sqlx::query_as(LIST).bind(dialect).bind(limit).bind(offset).fetch_all(&mut *c).await?);
    Ok(rows
        .into_iter()
        .map(|r| Delivery {
            id: r.id,
            dialect: r.dialect,
            received_at: r.received_at,
            source_addr: r.source_addr,
            event: r.event,
            status: r.status,
            outcome: r.outcome,
            change_ids: r.change_ids,
            headers: r.headers,
            content_type: r.content_type,
            body: None,
            body_encoding: None,
            body_truncated: r.body_truncated,
            replay_of: r.replay_of,
        })
        .collect())
}

const GET: &str = "select id, dialect, received_at, source_addr, event, status, outcome, change_ids, headers, \
    content_type, body, body_encoding, body_truncated, replay_of from hook_deliveries where id = $1";

/// One delivery with its body.
pub async fn get(conn: Conn<'_>, id: i64) -> DbResult<Delivery> {
    let stored: Delivery = on_conn!(conn, c => sqlx::query_as(GET).bind(id).fetch_one(&mut *c).await?);
    stored.decoded()
}
