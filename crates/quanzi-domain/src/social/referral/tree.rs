//! Who invited whom, as trees a page can draw. A program with thousands of members has
//! too many branches to show, so only the largest trees are kept (by everyone below their
//! root), a few generations deep, the biggest branches first; every member drawn still
//! says how many they invited, so what was cut is visible as a count.
//!
//! The trees are read from the same kept edges as [`invite_stats`](super::invite_stats):
//! one inviter per invitee, the roots are generation 0, and members on an invite cycle
//! belong to no tree.

use std::collections::{HashMap, VecDeque};

use super::stats::{inviter_of, InviteEdge};

/// How much of the invite forest to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// Trees, largest first.
    pub trees: usize,
    /// Generations below the root.
    pub depth: u32,
    /// Invitees drawn under one member.
    pub fanout: usize,
    /// Members drawn in one tree, the root included; shallow generations are filled
    /// first, so a tree never shows grandchildren while hiding children for want of room.
    pub members: usize,
}

/// A member in a drawn tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub member: String,
    /// The member's first order was paid after they were invited (false for a root, who
    /// was not invited).
    pub converted: bool,
    /// Members they invited, drawn or not.
    pub invitees: usize,
    /// Of those, how many converted.
    pub converted_invitees: usize,
    /// Everyone below them, at any depth.
    pub descendants: usize,
    /// The invitees drawn, largest branch first.
    pub children: Vec<TreeNode>,
}

/// The largest invite trees of `edges`, cut to `limits`.
pub fn invite_trees(edges: &[InviteEdge], limits: TreeLimits) -> Vec<TreeNode> {
    let parent = inviter_of(edges);
    let mut children: HashMap<&str, Vec<&InviteEdge>> = HashMap::new();
    for edge in parent.values() {
        children.entry(&edge.inviter).or_default().push(edge);
    }
    let roots: Vec<&str> = children
        .keys()
        .filter(|m| !parent.contains_key(*m))
        .copied()
        .collect();

    // Sizes below each member, from the leaves up: breadth first from the roots, then in
    // reverse. Only members reachable from a root are visited, so a cycle cannot loop.
    let mut order: Vec<&str> = Vec::new();
    let mut queue: VecDeque<&str> = roots.iter().copied().collect();
    while let Some(member) = queue.pop_front() {
        order.push(member);
        if let Some(kids) = children.get(member) {
            queue.extend(kids.iter().map(|e| e.invitee.as_str()));
        }
    }
    let mut below: HashMap<&str, usize> = HashMap::new();
    for member in order.iter().rev() {
        let n = children.get(member).map_or(0, |kids| {
            kids.iter()
                .map(|e| 1 + below.get(e.invitee.as_str()).copied().unwrap_or(0))
                .sum()
        });
        below.insert(member, n);
    }
    let size = |m: &str| below.get(m).copied().unwrap_or(0);
    for kids in children.values_mut() {
        kids.sort_by(|a, b| {
            size(&b.invitee)
                .cmp(&size(&a.invitee))
                .then(b.converted.cmp(&a.converted))
                .then(a.invitee.cmp(&b.invitee))
        });
    }

    let mut ranked = roots;
    ranked.sort_by(|a, b| size(b).cmp(&size(a)).then(a.cmp(b)));
    ranked
        .into_iter()
        .take(limits.trees)
        .map(|root| {
            // Which edges are drawn, breadth first within the member budget.
            let mut room = limits.members.saturating_sub(1);
            let mut drawn: HashMap<&str, Vec<&InviteEdge>> = HashMap::new();
            let mut queue = VecDeque::from([(root, 0u32)]);
            while let Some((member, generation)) = queue.pop_front() {
                if generation >= limits.depth {
                    continue;
                }
                let kids = children.get(member).map_or(&[][..], Vec::as_slice);
                for edge in kids.iter().take(limits.fanout) {
                    if room == 0 {
                        break;
                    }
                    room -= 1;
                    drawn.entry(member).or_default().push(edge);
                    queue.push_back((&edge.invitee, generation + 1));
                }
            }
            build(root, false, &children, &drawn, &size)
        })
        .collect()
}

fn build(
    member: &str,
    converted: bool,
    children: &HashMap<&str, Vec<&InviteEdge>>,
    drawn: &HashMap<&str, Vec<&InviteEdge>>,
    size: &impl Fn(&str) -> usize,
) -> TreeNode {
    let kids = children.get(member).map_or(&[][..], Vec::as_slice);
    TreeNode {
        member: member.to_owned(),
        converted,
        invitees: kids.len(),
        converted_invitees: kids.iter().filter(|e| e.converted).count(),
        descendants: size(member),
        children: drawn
            .get(member)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|e| build(&e.invitee, e.converted, children, drawn, size))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn edge(inviter: &str, invitee: &str, converted: bool) -> InviteEdge {
        InviteEdge {
            inviter: inviter.into(),
            invitee: invitee.into(),
            invited_at: Timestamp::from_millis(1),
            converted,
        }
    }

    const WIDE: TreeLimits = TreeLimits {
        trees: 10,
        depth: 3,
        fanout: 10,
        members: 100,
    };

    fn count(node: &TreeNode) -> usize {
        1 + node.children.iter().map(count).sum::<usize>()
    }

    #[test]
    fn the_largest_trees_come_first_with_their_biggest_branches_first() {
        // a: b (who brings c, d), e (converted); z: y.
        let edges = [
            edge("a", "e", true),
            edge("a", "b", false),
            edge("b", "c", true),
            edge("b", "d", false),
            edge("z", "y", true),
        ];
        let trees = invite_trees(&edges, WIDE);
        assert_eq!(trees.len(), 2);
        let a = &trees[0];
        assert_eq!((a.member.as_str(), a.invitees, a.descendants), ("a", 2, 4));
        assert_eq!(a.converted_invitees, 1);
        assert!(!a.converted, "a root was not invited");
        let b = &a.children[0];
        assert_eq!(
            (b.member.as_str(), b.converted, b.descendants),
            ("b", false, 2)
        );
        assert_eq!(
            b.children[0].member, "c",
            "converted before not, at equal size"
        );
        assert!(b.children[0].converted);
        assert_eq!(a.children[1].member, "e");
        assert_eq!(trees[1].member, "z");
        assert_eq!(
            invite_trees(&edges, TreeLimits { trees: 1, ..WIDE }).len(),
            1
        );
    }

    #[test]
    fn depth_fanout_and_the_member_budget_cut_the_drawing_but_not_the_counts() {
        // r invites m0..m5; m0 invites g0..g5; g0 invites h0; h0 invites x (generation 4).
        let mut edges: Vec<InviteEdge> = (0..6)
            .map(|i| edge("r", &format!("m{i}"), i % 2 == 0))
            .collect();
        edges.extend((0..6).map(|i| edge("m0", &format!("g{i}"), false)));
        edges.push(edge("g0", "h0", true));
        edges.push(edge("h0", "x", true));
        let deep = &invite_trees(&edges, WIDE)[0];
        assert_eq!(deep.descendants, 14);
        let h0 = &deep.children[0].children[0].children[0];
        assert_eq!(h0.member, "h0");
        assert!(h0.children.is_empty(), "generation 4 is below the depth");
        assert_eq!(h0.invitees, 1, "but counted");

        let narrow = &invite_trees(&edges, TreeLimits { fanout: 2, ..WIDE })[0];
        assert_eq!(narrow.children.len(), 2);
        assert_eq!(narrow.invitees, 6);
        assert_eq!(narrow.children[0].children.len(), 2);

        let small = &invite_trees(&edges, TreeLimits { members: 8, ..WIDE })[0];
        assert_eq!(count(small), 8);
        assert_eq!(
            small.children.len(),
            6,
            "the first generation is filled first"
        );
        assert_eq!(small.children[0].children.len(), 1);
    }

    #[test]
    fn members_on_a_cycle_are_in_no_tree_and_self_invitations_are_ignored() {
        let edges = [
            edge("a", "b", true),
            edge("b", "a", true),
            edge("r", "r", false),
            edge("r", "s", true),
        ];
        let trees = invite_trees(&edges, WIDE);
        assert_eq!(trees.len(), 1);
        assert_eq!((trees[0].member.as_str(), trees[0].invitees), ("r", 1));
        assert!(invite_trees(&[], WIDE).is_empty());
    }
}
