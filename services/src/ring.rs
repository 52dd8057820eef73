//! A consistent-hashing ring with virtual nodes, and consistent hashing with bounded loads.
//!
//! Consistent hashing (Karger et al., STOC 1997): members and keys hash onto a circle of 2^64
//! points; a key belongs to the first member point at or after its own, going clockwise. Each
//! member owns `vnodes` points (virtual nodes, as in Dynamo and ketama), which evens out the
//! arcs. The ring is a pure function of its member set and virtual-node count: every client
//! that builds it from the same view finds the same owner, and the order in which members were
//! added does not matter. When a member joins, only keys whose first point clockwise is now one
//! of its points change owner, and they all move to it; when one leaves, only its keys move.
//!
//! Bounded loads (Mirrokni, Thorup and Zadimoghaddam, "Consistent Hashing with Bounded Loads",
//! SODA 2018; HAProxy's `hash-balance-factor`): each member may hold at most
//! `ceil((1 + epsilon) * average)` of the load, and a key whose owner is full goes to the next
//! member clockwise that is not. [`Ring::owner_bounded`] is that walk for a caller that knows
//! the current loads (a balancer's outstanding requests); [`Ring::assign_bounded`] places a
//! whole set of keys in order.
//!
//! Hashes are xxh3 (stable across builds and machines); a point is the hash of the member id
//! and the virtual-node index, a key's position the hash of its bytes.

use std::collections::{BTreeMap, BTreeSet};

/// A member of the ring (a shard group, a backend), by number.
pub type Member = u32;

/// The ring's points, in clockwise order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    /// (position, member), sorted by position then member.
    points: Vec<(u64, Member)>,
    members: BTreeSet<Member>,
    vnodes: u32,
}

/// The position of a key on the circle.
pub fn key_position(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

/// The position of virtual node `vnode` of `member`.
fn point_position(member: Member, vnode: u32) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&member.to_le_bytes());
    bytes[4..].copy_from_slice(&vnode.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The most load a member may hold under bounded loads: `ceil((1 + epsilon) * total / members)`
/// (at least 1 when there is any load, so that every key has a place).
pub fn bounded_capacity(total: u64, members: usize, epsilon: f64) -> u64 {
    if members == 0 || total == 0 {
        return 0;
    }
    let average = total as f64 / members as f64;
    ((1.0 + epsilon) * average).ceil().max(1.0) as u64
}

impl Ring {
    /// The ring of `members`, each with `vnodes` points (at least one).
    pub fn new(members: impl IntoIterator<Item = Member>, vnodes: u32) -> Ring {
        let vnodes = vnodes.max(1);
        let members: BTreeSet<Member> = members.into_iter().collect();
        let mut points: Vec<(u64, Member)> =
            members.iter().flat_map(|&m| (0..vnodes).map(move |v| (point_position(m, v), m))).collect();
        points.sort_unstable();
        Ring { points, members, vnodes }
    }

    /// The members, in order.
    pub fn members(&self) -> &BTreeSet<Member> {
        &self.members
    }

    /// Virtual nodes per member.
    pub fn vnodes(&self) -> u32 {
        self.vnodes
    }

    /// Whether the ring has no member.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The owner of `key`; `None` on an empty ring.
    pub fn owner(&self, key: &str) -> Option<Member> {
        self.owner_at(key_position(key))
    }

    /// The owner of position `at`: the member of the first point at or after it, wrapping.
    pub fn owner_at(&self, at: u64) -> Option<Member> {
        let i = self.points.partition_point(|&(p, _)| p < at);
        self.points.get(i).or_else(|| self.points.first()).map(|&(_, m)| m)
    }

    /// The distinct members met walking clockwise from position `at`, the owner first: where
    /// a key goes when its owner cannot take it.
    pub fn walk(&self, at: u64) -> impl Iterator<Item = Member> + '_ {
        let start = self.points.partition_point(|&(p, _)| p < at);
        let n = self.points.len();
        let mut seen = BTreeSet::new();
        (0..n).map(move |k| self.points[(start + k) % n].1).filter(move |m| seen.insert(*m))
    }

    /// Bounded loads: the first member clockwise from `key` whose load is below `capacity`;
    /// the plain owner if every member is full (a caller that sized `capacity` with
    /// [`bounded_capacity`] for the load plus this key never sees that).
    pub fn owner_bounded(&self, key: &str, load: impl Fn(Member) -> u64, capacity: u64) -> Option<Member> {
        let at = key_position(key);
        self.walk(at).find(|&m| load(m) < capacity).or_else(|| self.owner_at(at))
    }

    /// Places `keys` in the order given with bounded loads, each key counting one: the owner of
    /// each key, by key.
    pub fn assign_bounded<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a str>,
        epsilon: f64,
    ) -> BTreeMap<&'a str, Member> {
        let keys: Vec<&str> = keys.into_iter().collect();
        let capacity = bounded_capacity(keys.len() as u64, self.members.len(), epsilon);
        let mut loads: BTreeMap<Member, u64> = BTreeMap::new();
        let mut placed = BTreeMap::new();
        for key in keys {
            let Some(m) = self.owner_bounded(key, |m| loads.get(&m).copied().unwrap_or(0), capacity) else {
                break;
            };
            *loads.entry(m).or_default() += 1;
            placed.insert(key, m);
        }
        placed
    }

    /// The (from, to) pairs of members between which some arc of the circle changes hands
    /// when this ring becomes `after`: the handoffs a migration must make, whether or not any
    /// key lies on the arc yet.
    pub fn moves_to(&self, after: &Ring) -> BTreeSet<(Member, Member)> {
        // Between two consecutive points of the union of both rings, every position has the
        // owner of the later point in each ring: checking the points checks every arc.
        let points = self.points.iter().chain(&after.points).map(|&(p, _)| p);
        let owners = points.filter_map(|p| Some((self.owner_at(p)?, after.owner_at(p)?)));
        owners.filter(|(a, b)| a != b).collect()
    }

    /// The share of the circle each member owns (fractions summing to 1): what virtual nodes
    /// even out.
    pub fn shares(&self) -> BTreeMap<Member, f64> {
        let mut shares: BTreeMap<Member, f64> = self.members.iter().map(|&m| (m, 0.0)).collect();
        let n = self.points.len();
        for i in 0..n {
            let (end, owner) = self.points[i];
            let start = if i == 0 { self.points[n - 1].0 } else { self.points[i - 1].0 };
            let arc = end.wrapping_sub(start) as f64 / 2f64.powi(64);
            *shares.get_mut(&owner).expect("a point's member is a member") += arc;
        }
        if n == 1 {
            shares.values_mut().for_each(|s| *s = 1.0);
        }
        shares
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("key{i}")).collect()
    }

    #[test]
    fn an_empty_ring_owns_nothing_and_one_member_owns_everything() {
        assert_eq!(Ring::new([], 8).owner("k"), None);
        let one = Ring::new([7], 8);
        assert!(keys(50).iter().all(|k| one.owner(k) == Some(7)));
        assert_eq!(one.shares()[&7], 1.0);
    }

    #[test]
    fn the_walk_meets_every_member_once_owner_first() {
        let ring = Ring::new([0, 1, 2, 3], 16);
        for k in keys(20) {
            let walk: Vec<Member> = ring.walk(key_position(&k)).collect();
            assert_eq!(walk.len(), 4);
            assert_eq!(Some(walk[0]), ring.owner(&k));
            assert_eq!(walk.iter().collect::<BTreeSet<_>>().len(), 4);
        }
    }

    #[test]
    fn shares_sum_to_one_and_even_out_with_virtual_nodes() {
        let spread = |vnodes| {
            let s = Ring::new(0..10, vnodes).shares();
            assert!((s.values().sum::<f64>() - 1.0).abs() < 1e-9);
            s.values().cloned().fold(0.0, f64::max) * 10.0
        };
        assert!(spread(200) < spread(1), "max/mean {} vs {}", spread(200), spread(1));
        assert!(spread(200) < 1.4);
    }

    #[test]
    fn bounded_capacity_is_the_ceiling() {
        assert_eq!(bounded_capacity(10, 3, 0.25), 5); // ceil(1.25 * 3.33) = ceil(4.17)
        assert_eq!(bounded_capacity(9, 3, 0.0), 3);
        assert_eq!(bounded_capacity(1, 8, 0.1), 1);
        assert_eq!(bounded_capacity(0, 3, 0.1), 0);
    }
}

#[cfg(test)]
mod properties {
    //! The ring's defining properties (Karger et al. 1997; Mirrokni et al. 2018), on random
    //! member sets, virtual-node counts and keys.

    use super::*;
    use proptest::prelude::*;

    fn members() -> impl Strategy<Value = BTreeSet<Member>> {
        proptest::collection::btree_set(0u32..64, 1..12)
    }

    fn keys() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec("[a-z0-9]{1,12}", 1..200)
    }

    proptest! {
        #[test]
        fn the_same_view_gives_every_client_the_same_owner(
            members in members(), vnodes in 1u32..64, keys in keys()
        ) {
            let a = Ring::new(members.iter().copied(), vnodes);
            let b = Ring::new(members.iter().rev().copied(), vnodes);
            prop_assert_eq!(&a, &b);
            for k in &keys {
                prop_assert_eq!(a.owner(k), b.owner(k));
                prop_assert!(members.contains(&a.owner(k).unwrap()));
            }
        }

        #[test]
        fn a_join_moves_keys_only_to_the_new_member(
            members in members(), joiner in 64u32..128, vnodes in 1u32..64, keys in keys()
        ) {
            let before = Ring::new(members.iter().copied(), vnodes);
            let after = Ring::new(members.iter().copied().chain([joiner]), vnodes);
            for k in &keys {
                let (was, now) = (before.owner(k), after.owner(k));
                prop_assert!(was == now || now == Some(joiner), "{k}: {was:?} -> {now:?}");
            }
        }

        #[test]
        fn a_leave_moves_only_the_leaving_members_keys(
            members in members(), pick in any::<prop::sample::Index>(), vnodes in 1u32..64, keys in keys()
        ) {
            prop_assume!(members.len() > 1);
            let leaver = *pick.get(&members.iter().copied().collect::<Vec<_>>());
            let before = Ring::new(members.iter().copied(), vnodes);
            let after = Ring::new(members.iter().copied().filter(|m| *m != leaver), vnodes);
            for k in &keys {
                let (was, now) = (before.owner(k), after.owner(k));
                prop_assert!(was == now || was == Some(leaver), "{k}: {was:?} -> {now:?}");
                prop_assert_ne!(now, Some(leaver));
            }
        }

        #[test]
        fn every_key_that_changes_owner_lies_on_a_listed_move(
            before in members(), after in members(), vnodes in 1u32..32, keys in keys()
        ) {
            let (a, b) = (Ring::new(before, vnodes), Ring::new(after, vnodes));
            let moves = a.moves_to(&b);
            for k in &keys {
                let (was, now) = (a.owner(k).unwrap(), b.owner(k).unwrap());
                prop_assert!(was == now || moves.contains(&(was, now)), "{k}: {was} -> {now} not in {moves:?}");
            }
            prop_assert!(moves.iter().all(|(x, y)| a.members().contains(x) && b.members().contains(y) && x != y));
        }

        #[test]
        fn bounded_loads_never_exceed_the_capacity(
            members in members(), vnodes in 1u32..32, keys in keys(), epsilon in 0.0f64..1.0
        ) {
            let ring = Ring::new(members.iter().copied(), vnodes);
            let distinct: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
            let placed = ring.assign_bounded(distinct.iter().copied(), epsilon);
            prop_assert_eq!(placed.len(), distinct.len());
            let capacity = bounded_capacity(distinct.len() as u64, members.len(), epsilon);
            let mut loads: BTreeMap<Member, u64> = BTreeMap::new();
            for m in placed.values() {
                *loads.entry(*m).or_default() += 1;
            }
            for (m, load) in loads {
                prop_assert!(load <= capacity, "member {m} holds {load} > {capacity}");
            }
        }
    }
}
