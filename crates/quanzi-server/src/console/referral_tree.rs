//! The referral tree drawn as inline SVG: each of a program's largest invite trees left
//! to right, one column per generation, converted invitees filled green. The trees come
//! already cut (`referral::stats_and_trees`), so a program of any size draws the same few hundred
//! marks; a member whose invitees were not all drawn shows how many more there are.

use maud::{html, Markup};
use quanzi_domain::social::referral::{TreeLimits, TreeNode};

use super::format::count;
use super::Lang;

/// Ten trees, three generations below the root, at most 8 invitees under one member and
/// 40 members per tree: enough to see who spreads the brand, small enough to read.
pub const LIMITS: TreeLimits = TreeLimits {
    trees: 10,
    depth: 3,
    fanout: 8,
    members: 40,
};

const ROW: f64 = 20.0;
const COL: f64 = 150.0;
const LEFT: f64 = 10.0;
const TOP: f64 = 32.0;
/// Where a link turns down towards the next generation: past the label it starts under.
const ELBOW: f64 = 118.0;
const LABEL_ROOM: f64 = 120.0;

/// The end of a member id, which is where ids differ (the start is the creation time).
fn short(id: &str) -> String {
    match id.char_indices().rev().nth(5) {
        Some((at, _)) if id.len() > 10 => format!("…{}", &id[at..]),
        _ => id.to_owned(),
    }
}

struct Placed<'a> {
    node: &'a TreeNode,
    generation: u32,
    x: f64,
    y: f64,
}

/// Leaves take the next free row; a member sits level with the middle of its invitees.
fn place<'a>(
    node: &'a TreeNode,
    generation: u32,
    rows: &mut usize,
    nodes: &mut Vec<Placed<'a>>,
    links: &mut Vec<String>,
) -> f64 {
    let x = LEFT + f64::from(generation) * COL;
    let ys: Vec<f64> = node
        .children
        .iter()
        .map(|c| place(c, generation + 1, rows, nodes, links))
        .collect();
    let y = match (ys.first(), ys.last()) {
        (Some(first), Some(last)) => (first + last) / 2.0,
        _ => {
            let y = TOP + *rows as f64 * ROW;
            *rows += 1;
            y
        }
    };
    for child_y in ys {
        links.push(format!(
            "M{x:.0},{y:.0} H{:.0} V{child_y:.0} H{:.0}",
            x + ELBOW,
            x + COL
        ));
    }
    nodes.push(Placed {
        node,
        generation,
        x,
        y,
    });
    y
}

fn hover(lang: Lang, p: &Placed) -> String {
    let n = p.node;
    let mut text = format!(
        "{} · {}{}{} · {}{} ({}{})",
        n.member,
        lang.pick("第", "generation "),
        p.generation,
        lang.pick("代", ""),
        lang.pick("邀请 ", "invited "),
        count(n.invitees as i64),
        lang.pick("转化 ", "converted "),
        count(n.converted_invitees as i64),
    );
    if p.generation > 0 {
        text.push_str(if n.converted {
            lang.pick(" · 已转化", " · converted")
        } else {
            lang.pick(" · 未转化", " · not converted")
        });
    }
    text
}

/// One tree.
fn tree(lang: Lang, root: &TreeNode) -> Markup {
    let mut rows = 0;
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    place(root, 0, &mut rows, &mut nodes, &mut links);
    let depth = nodes.iter().map(|p| p.generation).max().unwrap_or(0);
    let width = LEFT + f64::from(depth) * COL + LABEL_ROOM;
    let height = TOP + rows as f64 * ROW;
    html! {
        figure.tree {
            figcaption {
                a href=(format!("/console/members/{}", root.member)) { (root.member) }
                " · " (lang.pick("下游 ", "below: ")) (count(root.descendants as i64))
                " · " (lang.pick("直接邀请 ", "invited directly: ")) (count(root.invitees as i64))
            }
            svg.tree width=(format!("{width:.0}")) height=(format!("{height:.0}")) viewBox=(format!("0 0 {width:.0} {height:.0}")) role="img" {
                @for g in 0..=depth {
                    text.tick x=(format!("{:.0}", LEFT + f64::from(g) * COL)) y="12" {
                        @if g == 0 { (lang.pick("邀请人", "Inviter")) } @else { (lang.pick("第", "Gen ")) (g) (lang.pick("代", "")) }
                    }
                }
                @for d in &links { path.link d=(d) {} }
                @for p in &nodes {
                    @let hidden = p.node.invitees - p.node.children.len();
                    a href=(format!("/console/members/{}", p.node.member)) {
                        g.node.root[p.generation == 0].converted[p.generation > 0 && p.node.converted] {
                            title { (hover(lang, p)) }
                            circle cx=(format!("{:.0}", p.x)) cy=(format!("{:.0}", p.y)) r=(if p.generation == 0 { 6 } else { 5 }) {}
                            text x=(format!("{:.0}", p.x + 9.0)) y=(format!("{:.0}", p.y + 4.0)) {
                                (short(&p.node.member))
                                @if hidden > 0 { tspan.more { " +" (hidden) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A program's drawn trees with their legend, or a note that nobody invited anyone yet.
pub fn draw(lang: Lang, trees: &[TreeNode]) -> Markup {
    html! {
        @if trees.is_empty() {
            p.muted { (lang.pick("还没有人邀请成功。", "Nobody has invited anyone yet.")) }
        } @else {
            p.note.legend {
                span.key.converted { "●" } " " (lang.pick("已转化（首单已支付）", "converted (first order paid)")) "　"
                span.key { "○" } " " (lang.pick("未转化", "not converted")) "　"
                "+N " (lang.pick("未画出的直接邀请", "invitees not drawn")) " · "
                (lang.pick("最大的 ", "the ")) (LIMITS.trees) (lang.pick(" 棵邀请树，每人最多画 ", " largest trees, at most ")) (LIMITS.fanout)
                (lang.pick(" 个下级", " invitees under a member"))
            }
            div.trees { @for root in trees { (tree(lang, root)) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(member: &str, converted: bool, children: Vec<TreeNode>, invitees: usize) -> TreeNode {
        TreeNode {
            member: member.into(),
            converted,
            converted_invitees: children.iter().filter(|c| c.converted).count(),
            descendants: children.iter().map(|c| 1 + c.descendants).sum(),
            invitees,
            children,
        }
    }

    #[test]
    fn every_member_is_a_linked_mark_and_cut_invitees_are_counted() {
        let root = node(
            "mem_AAAAAAAAAAAAAAAAAAAAroot01",
            false,
            vec![
                node("mem_BBBBBBBBBBBBBBBBBBBBkid001", true, vec![], 0),
                node("mem_CCCCCCCCCCCCCCCCCCCCkid002", false, vec![], 3),
            ],
            4,
        );
        let svg = draw(Lang::En, &[root]).into_string();
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("href=\"/console/members/mem_BBBBBBBBBBBBBBBBBBBBkid001\""));
        assert!(svg.contains(">…kid001<"), "{svg}");
        assert_eq!(svg.matches("class=\"node converted\"").count(), 1);
        assert_eq!(svg.matches("class=\"node root\"").count(), 1);
        // The root invited 4 and 2 are drawn; the second invitee's 3 are beyond the cut.
        assert!(svg.contains("<tspan class=\"more\"> +2</tspan>"), "{svg}");
        assert!(svg.contains("<tspan class=\"more\"> +3</tspan>"), "{svg}");
        assert_eq!(svg.matches("class=\"more\"").count(), 2);
        assert!(svg.contains("Gen 1") && !svg.contains("Gen 2"));
        assert!(draw(Lang::En, &[]).into_string().contains("Nobody"));
    }

    #[test]
    fn short_ids_keep_their_distinguishing_end() {
        assert_eq!(short("mem_01JB2C3D4E5F6G7H8J9K0M1N2P"), "…0M1N2P");
        assert_eq!(short("mem_short"), "mem_short");
    }
}
