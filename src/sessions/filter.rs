//! Which sessions a run keeps: one predicate on endpoints, states and time,
//! used by the readers (to drop flow-log tuples early, by their ends), by
//! `sessions` to choose what it shows, and by every place that asks "is
//! this host/port in scope".

use super::flow_record::FlowRecord;
use super::model::Session;
use super::state::ConnState;
use std::net::IpAddr;

/// A filter on sessions: either end is one of `hosts`, either end uses one
/// of `ports`, the state is one of `states` (each list empty: any), and the
/// session overlaps the time window `since`–`until` (each unset: open).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Either end is one of these addresses.
    pub hosts: Vec<IpAddr>,
    /// Either end uses one of these ports.
    pub ports: Vec<u16>,
    /// The session's state is one of these.
    pub states: Vec<ConnState>,
    /// The session's last time is at or after this (ns since the epoch).
    pub since: Option<i64>,
    /// The session's first time is at or before this (ns since the epoch).
    pub until: Option<i64>,
}

impl Filter {
    /// Whether the filter keeps everything.
    pub fn is_everything(&self) -> bool {
        self.all_ends() && self.states.is_empty() && self.all_times()
    }

    /// Whether no time window is set.
    pub fn all_times(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// The time window alone.
    pub fn times_only(&self) -> Filter {
        Filter {
            since: self.since,
            until: self.until,
            ..Filter::default()
        }
    }

    /// Whether no host or port condition is set (states aside): readers can
    /// then keep every flow.
    pub fn all_ends(&self) -> bool {
        self.hosts.is_empty() && self.ports.is_empty()
    }

    /// Whether a flow between these ends can pass the host and port
    /// conditions. A flow-log session has exactly its tuples' ends, so
    /// dropping tuples that fail this is the same as filtering sessions
    /// afterwards. Captures are not pre-filtered: an ICMP error is linked to
    /// the session it names, which may fail the filter while the error's own
    /// ends pass it.
    #[inline]
    pub fn admits_ends(&self, a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> bool {
        (self.hosts.is_empty() || self.hosts.iter().any(|h| *h == a || *h == b))
            && (self.ports.is_empty() || self.ports.iter().any(|p| *p == a_port || *p == b_port))
    }

    /// Whether a session passes every condition.
    pub fn admits(&self, s: &Session) -> bool {
        self.admits_parts(
            (s.orig_h, s.orig_p),
            (s.resp_h, s.resp_p),
            s.state,
            (s.first_ts, s.last_ts),
        )
    }

    /// [`Filter::admits`] of the session flow record `r` is alone
    /// ([`FlowRecord::session`]), without building it.
    pub fn admits_record(&self, r: &FlowRecord) -> bool {
        self.admits_parts(
            (r.orig_h, r.orig_p),
            (r.resp_h, r.resp_p),
            r.state,
            (r.first_ts, r.last_ts),
        )
    }

    /// Every condition, on a session's ends, state and first and last
    /// times.
    fn admits_parts(
        &self,
        (a, a_port): (IpAddr, u16),
        (b, b_port): (IpAddr, u16),
        state: ConnState,
        (first_ts, last_ts): (i64, i64),
    ) -> bool {
        self.admits_ends(a, a_port, b, b_port)
            && (self.states.is_empty() || self.states.contains(&state))
            && self.since.is_none_or(|t| last_ts >= t)
            && self.until.is_none_or(|t| first_ts <= t)
    }

    /// The host and port conditions alone (what a reader can apply: a
    /// session's tuples share its ends, not its state or its times).
    pub fn ends_only(&self) -> Filter {
        Filter {
            hosts: self.hosts.clone(),
            ports: self.ports.clone(),
            ..Filter::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{flow_record, infos};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A flow record passes a filter exactly when the session it is
        /// alone does: `sessions` filters and counts records unbuilt.
        #[test]
        fn a_record_passes_as_its_session(
            r in flow_record(true),
            host in 0u8..4,
            port in prop::sample::select(vec![None, Some(22u16), Some(443), Some(40000)]),
            states in prop::sample::subsequence(vec![ConnState::SF, ConnState::S0, ConnState::OTH], 0..3),
            since in prop::option::of(0i64..50),
            until in prop::option::of(0i64..50),
        ) {
            let s = 1_000_000_000;
            let f = Filter {
                hosts: if host == 3 { vec![] } else { vec![IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, host))] },
                ports: port.into_iter().collect(),
                states,
                since: since.map(|t| t * s),
                until: until.map(|t| t * s),
            };
            prop_assert_eq!(f.admits_record(&r), f.admits(&r.session(&infos())));
        }
    }
}
