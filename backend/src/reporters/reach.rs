//! Whether an HTTP peer (a push receiver, a forge's API, a Gerrit server) can be reached,
//! for the senders' [`Deliver::peer_back`](super::outbox::Deliver::peer_back): a request that
//! could not connect marks the peer unreachable, and while it is, a TCP connection opened and
//! closed tells whether it is back. A peer that answered, even with an error, is reachable
//! and keeps its backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The longest a look at whether the peer is back may take.
const LOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One HTTP peer's reachability.
pub struct HttpPeer {
    /// `host:port` of the peer, if its URL names one.
    address: Option<(String, u16)>,
    /// The last request could not connect.
    unreachable: AtomicBool,
}

impl HttpPeer {
    /// The peer at `url` (its scheme's default port unless it names one).
    pub fn new(url: &str) -> Self {
        let address = reqwest::Url::parse(url).ok().and_then(|url| {
            let host = url.host_str()?.trim_start_matches('[').trim_end_matches(']').to_owned();
            Some((host, url.port_or_known_default()?))
        });
        HttpPeer { address, unreachable: AtomicBool::new(false) }
    }

    /// Records how a request to the peer went.
    pub fn saw<T>(&self, sent: &Result<T, reqwest::Error>) {
        self.unreachable.store(sent.as_ref().is_err_and(reqwest::Error::is_connect), Ordering::Relaxed);
    }

    /// After a request that could not connect: whether the peer takes a connection now.
    pub async fn back(&self) -> bool {
        if !self.unreachable.load(Ordering::Relaxed) {
            return false;
        }
        let Some((host, port)) = &self.address else { return false };
        matches!(
            tokio::time::timeout(LOOK_TIMEOUT, tokio::net::TcpStream::connect((host.as_str(), *port))).await,
            Ok(Ok(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_is_back_only_after_it_could_not_be_reached_and_takes_connections_again() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let peer = HttpPeer::new(&format!("http://127.0.0.1:{port}/statuses"));
        assert!(!peer.back().await, "nothing failed yet");

        let client = reqwest::Client::new();
        let sent = client.get(format!("http://127.0.0.1:{port}/")).send().await;
        peer.saw(&sent);
        assert!(!peer.back().await, "still down");

        let _listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        assert!(peer.back().await, "up again");
    }

    #[test]
    fn urls_give_their_host_and_port() {
        assert_eq!(HttpPeer::new("https://api.github.com").address, Some(("api.github.com".into(), 443)));
        assert_eq!(HttpPeer::new("http://[::1]:8010/x").address, Some(("::1".into(), 8010)));
        assert_eq!(HttpPeer::new("not a url").address, None);
    }
}
