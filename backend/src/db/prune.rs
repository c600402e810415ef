//! Retention: deletes old logs or old builds in small batches, each in its own short
//! transaction, so a prune never holds the database for long, and reclaims the space on
//! SQLite afterwards. Changes are kept: were they ever pruned, their `change_files` rows
//! would have to be deleted with them, since on PostgreSQL no foreign key cascades there.

use super::{Conn, Db, DbResult, on_conn};

/// Logs or builds per batch.
const BATCH: i64 = 200;

/// What a prune removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Logs whose chunks were deleted.
    pub logs: u64,
    /// Builds deleted (with their steps and logs).
    pub builds: u64,
}

const OLD_LOGS: &str = "select l.id from logs l join steps s on s.id = l.step_id join builds b on b.id = s.build_id \
    where b.finished_at < $1 and l.raw_bytes > 0 order by l.id limit $2";
const DROP_CHUNKS: &str = "delete from log_chunks where log_id = $1";
const MARK_PRUNED: &str = "update logs set raw_bytes = 0 where id = $1";

async fn old_logs(conn: Conn<'_>, cutoff: i64) -> DbResult<Vec<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(OLD_LOGS).bind(cutoff).bind(BATCH).fetch_all(&mut *c).await?))
}

async fn drop_log(conn: Conn<'_>, log: i64) -> DbResult<()> {
    on_conn!(conn, c => {
        sqlx::query(DROP_CHUNKS).bind(log).execute(&mut *c).await?;
        sqlx::query(MARK_PRUNED).bind(log).execute(&mut *c).await?;
    });
    Ok(())
}

const OLD_BUILDS: &str = "select id from builds where finished_at < $1 order by id limit $2";
const DROP_BUILD: &str = "delete from builds where id = $1";
const DROP_REQUESTS: &str = "delete from buildrequests where complete = 1 and complete_at < $1 \
    and not exists (select 1 from builds b where b.buildrequest_id = buildrequests.id)";
const DROP_BUILDSETS: &str = "delete from buildsets where complete = 1 and complete_at < $1 \
    and not exists (select 1 from buildrequests br where br.buildset_id = buildsets.id)";

async fn old_builds(conn: Conn<'_>, cutoff: i64) -> DbResult<Vec<i64>> {
    Ok(on_conn!(conn, c => sqlx::query_scalar(OLD_BUILDS).bind(cutoff).bind(BATCH).fetch_all(&mut *c).await?))
}

/// Deletes the logs (and, unless `logs_only`, the builds) of builds finished before
/// `cutoff` (epoch seconds).
pub async fn prune(db: &Db, cutoff: i64, logs_only: bool) -> DbResult<Pruned> {
    let mut pruned = Pruned::default();
    loop {
        let logs = {
            let mut conn = db.acquire().await?;
            old_logs(conn.conn(), cutoff).await?
        };
        if logs.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for log in &logs {
            drop_log(tx.conn(), *log).await?;
        }
        tx.commit().await?;
        pruned.logs += logs.len() as u64;
    }
    if !logs_only {
        loop {
            let builds = {
                let mut conn = db.acquire().await?;
                old_builds(conn.conn(), cutoff).await?
            };
            if builds.is_empty() {
                break;
            }
            let mut tx = db.begin().await?;
            for build in &builds {
                // Steps, logs and chunks go with it (on delete cascade).
                on_conn!(tx.conn(), c => sqlx::query(DROP_BUILD).bind(*build).execute(&mut *c).await.map(|_| ())?);
            }
            tx.commit().await?;
            pruned.builds += builds.len() as u64;
        }
        let mut tx = db.begin().await?;
        on_conn!(tx.conn(), c => {
            sqlx::query(DROP_REQUESTS).bind(cutoff).execute(&mut *c).await?;
            sqlx::query(DROP_BUILDSETS).bind(cutoff).execute(&mut *c).await?;
        });
        tx.commit().await?;
    }
    if let Db::Sqlite(pool, _) = db {
        // SQLite keeps freed pages in the file until it is vacuumed.
        sqlx::query("vacuum").execute(pool).await?;
    }
    Ok(pruned)
}

/// Parses a duration such as `90d`, `12h`, `30m`, `45s` or `2w` into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| format!("`{text}` is not a duration such as 90d, 12h or 30m"))?;
    let scale = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use s, m, h, d or w")),
    };
    n.checked_mul(scale).ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        assert_eq!(parse_duration("45"), Ok(45));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3y").is_err());
    }
}
