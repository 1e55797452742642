//! Time as the embedder hands it in: the machine never reads a clock.

use std::fmt;
use std::time::Duration;

/// A point in time, in milliseconds since the Unix epoch, as given by the embedder's clock.
///
/// The machine only compares and adds these; it never asks what time it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The epoch.
    pub const ZERO: Timestamp = Timestamp(0);

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time rather than wrapping.
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates() {
        assert_eq!(Timestamp(5).saturating_add(Duration::from_secs(1)), Timestamp(1005));
        assert_eq!(Timestamp(u64::MAX - 1).saturating_add(Duration::from_secs(1)), Timestamp(u64::MAX));
        assert_eq!(Timestamp(1).saturating_add(Duration::MAX), Timestamp(u64::MAX));
        assert_eq!(Timestamp(10).saturating_since(Timestamp(20)), Duration::ZERO);
        assert_eq!(Timestamp(20).saturating_since(Timestamp(10)), Duration::from_millis(10));
    }
}
