//! How far invitations spread: generations of the invite tree, K-factor, conversion and
//! shares per capita.
//!
//! Definitions, so the dashboard and the seeds' "K-factor of 5" mean the same thing:
//! - A member's *generation* is their depth in the invite tree: members nobody invited are
//!   generation 0, their invitees generation 1, and so on.
//! - An invitee is *converted* once their first order is paid (they qualified).
//! - Overall K-factor = converted invitees / members who invited at least one: how many
//!   paying newcomers an inviting member brings on average.
//! - Per generation g: K = converted members of generation g + 1 / members of generation g,
//!   the viral coefficient of that generation (above 1 the next generation of buyers is
//!   larger); the invite rate counts every invitee of generation g + 1 instead.
//! - Conversion rate = converted invitees / invitees.
//! - Shares per capita = shares / members.
//!
//! Ratios with nothing to divide by are 0, so an empty dashboard shows zeros.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::time::Timestamp;

/// One binding as the stats see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteEdge {
    pub inviter: String,
    pub invitee: String,
    pub invited_at: Timestamp,
    pub converted: bool,
}

/// One generation of the invite tree and what it brought into the next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationStats {
    pub generation: u32,
    pub members: usize,
    /// Members of this generation who invited at least one member.
    pub inviters: usize,
    /// Members of the next generation: everyone this generation invited.
    pub invitees: usize,
    /// Members of the next generation who converted.
    pub converted: usize,
    pub shares: u64,
}

impl GenerationStats {
    pub fn k_factor(&self) -> f64 {
        ratio(self.converted as f64, self.members)
    }

    pub fn invite_rate(&self) -> f64 {
        ratio(self.invitees as f64, self.members)
    }

    pub fn shares_per_member(&self) -> f64 {
        ratio(self.shares as f64, self.members)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InviteStats {
    /// Every member reachable from a root, with their generation.
    pub generation_of: BTreeMap<String, u32>,
    /// Generation 0 first; empty when there are no members.
    pub generations: Vec<GenerationStats>,
    /// Members on an invite cycle or below one. Binding refuses cycles, so this is empty
    /// unless the data was damaged or a loop was deeper than the bind-time check looks;
    /// such members count in the overall figures but in no generation.
    pub unreachable: BTreeSet<String>,
    pub members: usize,
    pub inviters: usize,
    pub invitees: usize,
    pub converted: usize,
    pub shares: u64,
}

impl InviteStats {
    pub fn k_factor(&self) -> f64 {
        ratio(self.converted as f64, self.inviters)
    }

    pub fn conversion_rate(&self) -> f64 {
        ratio(self.converted as f64, self.invitees)
    }

    pub fn shares_per_capita(&self) -> f64 {
        ratio(self.shares as f64, self.members)
    }

    /// The deepest generation, 0 for a tree of roots only or no members.
    pub fn depth(&self) -> u32 {
        self.generations.last().map_or(0, |g| g.generation)
    }
}

fn ratio(numerator: f64, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator / denominator as f64
    }
}

/// Each invitee's one kept edge: self-invitations dropped, and of several edges to one
/// invitee the latest, ties going to the smaller inviter id. Shared with the tree drawing
/// so the picture and the figures agree on who invited whom.
pub(super) fn inviter_of(edges: &[InviteEdge]) -> HashMap<&str, &InviteEdge> {
    let mut parent: HashMap<&str, &InviteEdge> = HashMap::new();
    for edge in edges.iter().filter(|e| e.inviter != e.invitee) {
        let replace = parent.get(edge.invitee.as_str()).is_none_or(|kept| {
            (edge.invited_at, std::cmp::Reverse(&edge.inviter))
                > (kept.invited_at, std::cmp::Reverse(&kept.inviter))
        });
        if replace {
            parent.insert(&edge.invitee, edge);
        }
    }
    parent
}

/// Computes the invite tree and its figures from `edges` and per-member `shares`.
///
/// Members are everyone named in either list; pass `(member, 0)` for members who neither
/// invited, were invited nor shared, to count them in generation 0. The data is cleaned
/// defensively rather than trusted: self-invitations are ignored, and a member invited
/// more than once (an expired binding replaced, or duplicates) keeps only the latest edge,
/// ties going to the smaller inviter id, so every member has at most one inviter and the
/// walk from the roots visits each member once and always ends.
pub fn invite_stats(edges: &[InviteEdge], shares: &[(String, u64)]) -> InviteStats {
    let mut members: BTreeSet<&str> = edges
        .iter()
        .flat_map(|e| [e.inviter.as_str(), e.invitee.as_str()])
        .collect();
    let parent = inviter_of(edges);
    let mut shares_of: HashMap<&str, u64> = HashMap::new();
    for (member, count) in shares {
        members.insert(member);
        let total = shares_of.entry(member).or_default();
        *total = total.saturating_add(*count);
    }

    let mut children: BTreeMap<&str, Vec<&InviteEdge>> = BTreeMap::new();
    for edge in parent.values() {
        children.entry(&edge.inviter).or_default().push(edge);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.invitee.cmp(&b.invitee));
    }

    let mut stats = InviteStats {
        members: members.len(),
        inviters: children.len(),
        invitees: parent.len(),
        converted: parent.values().filter(|e| e.converted).count(),
        shares: shares_of.values().fold(0, |sum, &n| sum.saturating_add(n)),
        ..InviteStats::default()
    };

    // Breadth first from the roots: a member is visited once, when its only inviter is.
    let mut queue: VecDeque<(&str, u32)> = members
        .iter()
        .filter(|m| !parent.contains_key(*m))
        .map(|&m| (m, 0))
        .collect();
    while let Some((member, generation)) = queue.pop_front() {
        stats.generation_of.insert(member.to_owned(), generation);
        let index = generation as usize;
        if stats.generations.len() <= index {
            stats.generations.push(GenerationStats {
                generation,
                ..GenerationStats::default()
            });
        }
        let kids = children.get(member).map_or(&[][..], Vec::as_slice);
        let g = &mut stats.generations[index];
        g.members += 1;
        g.shares = g
            .shares
            .saturating_add(shares_of.get(member).copied().unwrap_or(0));
        if !kids.is_empty() {
            g.inviters += 1;
            g.invitees += kids.len();
            g.converted += kids.iter().filter(|e| e.converted).count();
        }
        queue.extend(kids.iter().map(|e| (e.invitee.as_str(), generation + 1)));
    }
    stats.unreachable = members
        .into_iter()
        .filter(|m| !stats.generation_of.contains_key(*m))
        .map(str::to_owned)
        .collect();
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn edge(inviter: &str, invitee: &str, at: i64, converted: bool) -> InviteEdge {
        InviteEdge {
            inviter: inviter.into(),
            invitee: invitee.into(),
            invited_at: Timestamp::from_millis(at),
            converted,
        }
    }

    #[test]
    fn a_two_generation_tree_has_generations_k_factor_and_conversion() {
        // a invites b, c, d (b and c buy); b invites e (buys) and f.
        let edges = [
            edge("a", "b", 1, true),
            edge("a", "c", 2, true),
            edge("a", "d", 3, false),
            edge("b", "e", 4, true),
            edge("b", "f", 5, false),
        ];
        let shares = [
            ("a".to_owned(), 10),
            ("b".to_owned(), 4),
            ("z".to_owned(), 1),
        ];
        let s = invite_stats(&edges, &shares);
        assert_eq!(s.generation_of["a"], 0);
        assert_eq!(s.generation_of["z"], 0);
        assert_eq!(s.generation_of["b"], 1);
        assert_eq!(s.generation_of["f"], 2);
        assert_eq!(s.depth(), 2);
        assert_eq!(
            (s.members, s.inviters, s.invitees, s.converted),
            (7, 2, 5, 3)
        );
        assert_eq!(s.k_factor(), 1.5);
        assert_eq!(s.conversion_rate(), 0.6);
        assert_eq!(s.shares_per_capita(), 15.0 / 7.0);
        let g0 = s.generations[0];
        assert_eq!(
            (g0.members, g0.inviters, g0.invitees, g0.converted),
            (2, 1, 3, 2)
        );
        assert_eq!(g0.k_factor(), 1.0);
        assert_eq!(g0.invite_rate(), 1.5);
        assert_eq!(g0.shares_per_member(), 5.5);
        let g1 = s.generations[1];
        assert_eq!((g1.members, g1.invitees, g1.converted), (3, 2, 1));
        assert!(s.unreachable.is_empty());
    }

    #[test]
    fn no_data_gives_zeros_not_nan() {
        let s = invite_stats(&[], &[]);
        assert_eq!(
            (s.k_factor(), s.conversion_rate(), s.shares_per_capita()),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(s.depth(), 0);
    }

    #[test]
    fn cycles_and_self_invitations_end_and_are_reported_as_unreachable() {
        let edges = [
            edge("a", "b", 1, true),
            edge("b", "a", 2, true),
            edge("b", "c", 3, false),
            edge("r", "r", 4, false),
            edge("r", "s", 5, true),
        ];
        let s = invite_stats(&edges, &[]);
        let unreachable: Vec<&str> = s.unreachable.iter().map(String::as_str).collect();
        assert_eq!(unreachable, ["a", "b", "c"]);
        assert_eq!(s.generation_of.get("r"), Some(&0));
        assert_eq!(s.generation_of.get("s"), Some(&1));
        assert_eq!(s.members, 5);
    }

    #[test]
    fn a_member_invited_twice_keeps_the_latest_inviter() {
        let edges = [
            edge("a", "n", 1, false),
            edge("b", "n", 9, true),
            edge("c", "n", 9, true),
        ];
        let s = invite_stats(&edges, &[]);
        assert_eq!((s.invitees, s.inviters, s.converted), (1, 1, 1));
        assert_eq!(s.generations[0].members, 3);
        assert_eq!(s.generations[0].inviters, 1);
        // b and c tie on time; the smaller id wins.
        assert_eq!(s.generations[0].invitees, 1);
        let edges_reversed = [
            edge("c", "n", 9, true),
            edge("b", "n", 9, true),
            edge("a", "n", 1, false),
        ];
        assert_eq!(invite_stats(&edges_reversed, &[]), s);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn generation_figures_agree_with_the_tree(
            // Member i's inviter is one of the members before it, or nobody.
            nodes in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<bool>(), 0u64..5), 1..60),
        ) {
            let mut parent_of: Vec<Option<usize>> = Vec::new();
            let mut edges = Vec::new();
            let mut shares = Vec::new();
            for (i, (pick, invited, converted, shared)) in nodes.iter().enumerate() {
                let parent = (i > 0 && *invited).then(|| pick.index(i));
                if let Some(p) = parent {
                    edges.push(edge(&format!("m{p}"), &format!("m{i}"), i as i64, *converted));
                }
                parent_of.push(parent);
                shares.push((format!("m{i}"), *shared));
            }
            let s = invite_stats(&edges, &shares);
            prop_assert!(s.unreachable.is_empty());
            prop_assert_eq!(s.members, nodes.len());
            for (i, parent) in parent_of.iter().enumerate() {
                let mut depth = 0;
                let mut at = *parent;
                while let Some(p) = at {
                    depth += 1;
                    at = parent_of[p];
                }
                prop_assert_eq!(s.generation_of[&format!("m{i}")], depth);
            }
            let gens = &s.generations;
            prop_assert_eq!(gens.iter().map(|g| g.members).sum::<usize>(), s.members);
            prop_assert_eq!(gens.iter().map(|g| g.invitees).sum::<usize>(), s.invitees);
            prop_assert_eq!(gens.iter().map(|g| g.converted).sum::<usize>(), s.converted);
            prop_assert_eq!(gens.iter().map(|g| g.inviters).sum::<usize>(), s.inviters);
            prop_assert_eq!(gens.iter().map(|g| g.shares).sum::<u64>(), s.shares);
            for (g, stats) in gens.iter().enumerate() {
                prop_assert_eq!(stats.generation as usize, g);
                prop_assert!(stats.members > 0);
                let next = gens.get(g + 1).map_or(0, |n| n.members);
                prop_assert_eq!(stats.invitees, next);
                let converted_next = (0..nodes.len())
                    .filter(|&i| s.generation_of[&format!("m{i}")] as usize == g + 1 && nodes[i].2)
                    .count();
                prop_assert_eq!(stats.converted, converted_next);
                prop_assert!((stats.k_factor() * stats.members as f64 - converted_next as f64).abs() < 1e-9);
            }
        }

        #[test]
        fn arbitrary_edges_including_cycles_always_finish_and_partition_the_members(
            raw in proptest::collection::vec((0u8..15, 0u8..15, 0i64..5, any::<bool>()), 0..80),
        ) {
            let edges: Vec<InviteEdge> = raw
                .iter()
                .map(|&(a, b, at, c)| edge(&format!("m{a}"), &format!("m{b}"), at, c))
                .collect();
            let s = invite_stats(&edges, &[]);
            prop_assert_eq!(s.generation_of.len() + s.unreachable.len(), s.members);
            prop_assert!(s.generation_of.keys().all(|m| !s.unreachable.contains(m)));
            prop_assert!(s.k_factor().is_finite() && s.conversion_rate() <= 1.0);
        }
    }
}
