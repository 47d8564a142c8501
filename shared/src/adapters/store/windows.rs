//! Rate-limit windows (`RATE#<key>`/`RATE`).
//!
//! A window is anchored at its first hit and lasts `seconds`; it holds at
//! most `limit` hits, counted by a conditional `ADD`, so parallel callers can
//! never overshoot. An expired window is restarted by a conditional reset that
//! only one caller wins. A hit can be taken as a *reservation* before the work
//! it guards (a password check) and given back afterwards when the work turns
//! out not to count (a right password). Items carry a TTL for cleanup, but
//! expiry is always judged from `window_start` and the clock.

use super::{get_n, keep, n, ttl, Db, Item, StoreError, Written};
use crate::clock::UnixTime;
pub use crate::types::Window;

const SK: &str = "RATE";
/// Losing the restart race to another caller costs a round; a few rounds
/// cover any contention short of a window restarting between every call.
const MAX_ROUNDS: usize = 3;

/// A hit counted in an open window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Hits in the window, this one included.
    pub hits: i64,
    /// The window's anchor, which names it for [`Db::release`].
    pub window_start: UnixTime,
}

/// The answer to one hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admitted(Hit),
    /// The window is full for this many more seconds.
    Refused {
        retry_after: u64,
    },
}

/// Usage of a window that is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub hits: i64,
    /// Seconds until the window closes.
    pub resets_in: u64,
}

fn pk(key: &str) -> String {
    format!("RATE#{key}")
}

fn seconds_until(end: UnixTime, now: UnixTime) -> u64 {
    (end - now).max(1) as u64
}

impl Db {
    /// Counts one hit if the window has room.
    pub async fn hit(&self, key: &str, w: Window, now: UnixTime) -> Result<Admission, StoreError> {
        for _ in 0..MAX_ROUNDS {
            let req = self
                .update(pk(key), SK)
                .update_expression("SET window_start = if_not_exists(window_start, :now), #ttl = if_not_exists(#ttl, :ttl) ADD hits :one")
                .condition_expression("attribute_not_exists(hits) OR (window_start > :expired_before AND hits < :limit)")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":ttl", ttl(now + w.seconds, keep::WINDOW_SECONDS))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expired_before", n(now - w.seconds))
                .expression_attribute_values(":limit", n(w.limit));
            let old = match self.write(req).await? {
                Written::Applied(item) => {
                    return Ok(Admission::Admitted(Hit {
                        hits: get_n(&item, "hits").unwrap_or(1),
                        window_start: get_n(&item, "window_start").unwrap_or(now),
                    }))
                }
                Written::Refused(old) => old.unwrap_or_default(),
            };
            let start = get_n(&old, "window_start").unwrap_or(now);
            if start > now - w.seconds {
                return Ok(Admission::Refused {
                    retry_after: seconds_until(start + w.seconds, now),
                });
            }
            if self.restart_window(key, w, start, now).await? {
                return Ok(Admission::Admitted(Hit {
                    hits: 1,
                    window_start: now,
                }));
            }
        }
        Err(StoreError::Contended("a rate-limit window"))
    }

    /// Counts one hit whatever the count (a failure counter); returns the hits in the window.
    pub async fn count(&self, key: &str, seconds: i64, now: UnixTime) -> Result<i64, StoreError> {
        let unbounded = Window {
            limit: i64::MAX,
            seconds,
        };
        match self.hit(key, unbounded, now).await? {
            Admission::Admitted(hit) => Ok(hit.hits),
            Admission::Refused { .. } => Err(StoreError::Contended("an unbounded window")),
        }
    }

    /// Gives back a reserved hit, if its window is still the one it was taken
    /// in (a window that restarted or was cleared no longer holds it).
    pub async fn release(&self, key: &str, hit: Hit) -> Result<(), StoreError> {
        let req = self
            .update(pk(key), SK)
            .update_expression("ADD hits :minus_one")
            .condition_expression("window_start = :start AND hits > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":start", n(hit.window_start))
            .expression_attribute_values(":zero", n(0));
        self.write(req).await.map(|_| ())
    }

    /// Keeps a full window full for another `w.seconds` from `now`: the lock
    /// that follows the hit which filled it. A window no longer full (or
    /// already held from now) is left as it is.
    pub async fn hold_full(&self, key: &str, w: Window, now: UnixTime) -> Result<(), StoreError> {
        let req = self
            .update(pk(key), SK)
            .update_expression("SET window_start = :now, #ttl = :ttl")
            .condition_expression("hits >= :limit AND window_start < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", ttl(now + w.seconds, keep::WINDOW_SECONDS))
            .expression_attribute_values(":limit", n(w.limit));
        self.write(req).await.map(|_| ())
    }

    /// Replaces an expired window by a fresh one holding this hit; false if
    /// another caller restarted it first.
    async fn restart_window(
        &self,
        key: &str,
        w: Window,
        old_start: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let req = self
            .update(pk(key), SK)
            .update_expression("SET window_start = :now, hits = :one, #ttl = :ttl")
            .condition_expression("window_start = :old_start")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", ttl(now + w.seconds, keep::WINDOW_SECONDS))
            .expression_attribute_values(":old_start", n(old_start));
        Ok(self.write(req).await?.applied())
    }

    /// The usage of each window (its key and length in seconds), in order:
    /// `None` where there is no open window. One strongly consistent read for
    /// all of them.
    pub async fn usages(
        &self,
        windows: &[(String, i64)],
        now: UnixTime,
    ) -> Result<Vec<Option<Usage>>, StoreError> {
        let pks: Vec<String> = windows.iter().map(|(key, _)| pk(key)).collect();
        let keys: Vec<(&str, &str)> = pks.iter().map(|pk| (pk.as_str(), SK)).collect();
        let items = self.get_many(&keys).await?;
        Ok(items
            .into_iter()
            .zip(windows)
            .map(|(item, (_, seconds))| usage_of(item?, *seconds, now))
            .collect())
    }

    pub async fn clear_window(&self, key: &str) -> Result<(), StoreError> {
        self.delete(&pk(key), SK).await
    }
}

/// The usage an item records, if its window is still open at `now`.
fn usage_of(item: Item, seconds: i64, now: UnixTime) -> Option<Usage> {
    let (start, hits) = (get_n(&item, "window_start")?, get_n(&item, "hits")?);
    (start > now - seconds).then(|| Usage {
        hits,
        resets_in: seconds_until(start + seconds, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_item(start: Option<UnixTime>, hits: Option<i64>) -> Item {
        let mut item = Item::new();
        if let Some(start) = start {
            item.insert("window_start".into(), n(start));
        }
        if let Some(hits) = hits {
            item.insert("hits".into(), n(hits));
        }
        item
    }

    #[test]
    fn a_window_is_open_until_its_length_has_passed_since_its_start() {
        let now = 10_000;
        let open = usage_of(window_item(Some(now - 59), Some(3)), 60, now);
        assert_eq!(
            open,
            Some(Usage {
                hits: 3,
                resets_in: 1
            })
        );
        assert_eq!(
            usage_of(window_item(Some(now - 60), Some(3)), 60, now),
            None
        );
        assert_eq!(
            usage_of(window_item(Some(now), Some(1)), 60, now).map(|u| u.resets_in),
            Some(60)
        );
    }

    #[test]
    fn an_item_missing_its_start_or_hits_is_no_open_window() {
        assert_eq!(usage_of(window_item(None, Some(3)), 60, 100), None);
        assert_eq!(usage_of(window_item(Some(90), None), 60, 100), None);
    }
}
