//! Journeys from stored touches and conversions: each conversion closes a journey of the
//! member's touches since their previous conversion and within the lookback window; the
//! touches left after a member's last conversion form a journey that did not convert. A
//! conversion with no touch in its window is counted as unattributed (direct), not forced
//! onto a channel.

use std::collections::HashMap;

use super::Journeys;

/// A touch of a member (an interned id) on a channel (an interned id) at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub member: u32,
    pub at: i64,
    pub channel: u32,
}

/// A conversion of a member at a time, with its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    pub member: u32,
    pub at: i64,
    pub value: f64,
}

/// What the assembly saw, so results can say what they rest on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JourneyCounts {
    pub converting: u64,
    pub non_converting: u64,
    /// Conversions without any touch in their window.
    pub unattributed: u64,
    pub unattributed_value: f64,
}

/// Builds ChannelAttribution's path table from touches and conversions. A touch at the
/// same time as a conversion belongs to that conversion (an order's own channel is its
/// last touch). `channel_names` names the channel ids; `>` in a name is replaced so paths
/// stay parseable.
pub fn assemble(
    mut touches: Vec<Touch>,
    mut conversions: Vec<Conversion>,
    channel_names: &[String],
    lookback: i64,
) -> (Journeys, JourneyCounts) {
    touches.sort_by_key(|t| (t.member, t.at, t.channel));
    conversions.sort_by_key(|c| (c.member, c.at));
    let names: Vec<String> = channel_names.iter().map(|n| n.replace('>', "›")).collect();
    let mut table: HashMap<Vec<u32>, (f64, f64, f64)> = HashMap::new();
    let mut counts = JourneyCounts::default();
    let (mut t, mut c) = (0, 0);
    while t < touches.len() || c < conversions.len() {
        let member = match (touches.get(t), conversions.get(c)) {
            (Some(a), Some(b)) => a.member.min(b.member),
            (Some(a), None) => a.member,
            (None, Some(b)) => b.member,
            (None, None) => unreachable!(),
        };
        let mut since = i64::MIN;
        while let Some(conv) = conversions.get(c).filter(|x| x.member == member) {
            let from = since.max(conv.at.saturating_sub(lookback));
            let mut path = Vec::new();
            while let Some(touch) = touches
                .get(t)
                .filter(|x| x.member == member && x.at <= conv.at)
            {
                // Touches at `since` went to the previous conversion already.
                if touch.at >= from {
                    path.push(touch.channel);
                }
                t += 1;
            }
            if path.is_empty() {
                counts.unattributed += 1;
                counts.unattributed_value += conv.value;
            } else {
                counts.converting += 1;
                let row = table.entry(path).or_default();
                row.0 += 1.0;
                row.1 += conv.value;
            }
            since = conv.at;
            c += 1;
        }
        let mut rest = Vec::new();
        while let Some(touch) = touches.get(t).filter(|x| x.member == member) {
            rest.push(touch.channel);
            t += 1;
        }
        if !rest.is_empty() {
            counts.non_converting += 1;
            table.entry(rest).or_default().2 += 1.0;
        }
    }
    let mut rows: Vec<(String, f64, f64, f64)> = table
        .into_iter()
        .map(|(path, (conv, value, nulls))| {
            let text: Vec<&str> = path.iter().map(|&id| names[id as usize].as_str()).collect();
            (text.join(" > "), conv, value, nulls)
        })
        .collect();
    // Sorted, so channel ids (first appearance) and every result are deterministic.
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let journeys = Journeys::parse_rows(rows.iter().map(|(p, c, v, n)| (p.as_str(), *c, *v, *n)))
        .expect("assembled rows are well formed");
    (journeys, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["wechat".into(), "douyin".into(), "kol>a".into()]
    }

    fn touch(member: u32, at: i64, channel: u32) -> Touch {
        Touch {
            member,
            at,
            channel,
        }
    }

    fn conv(member: u32, at: i64, value: f64) -> Conversion {
        Conversion { member, at, value }
    }

    fn rows(j: &Journeys) -> Vec<(String, f64, f64, f64)> {
        (0..j.len())
            .map(|i| {
                let path: Vec<&str> = j
                    .path(i)
                    .iter()
                    .map(|&c| j.channels()[c as usize].as_str())
                    .collect();
                (
                    path.join(" > "),
                    j.conversions()[i],
                    j.value()[i],
                    j.nulls()[i],
                )
            })
            .collect()
    }

    #[test]
    fn conversions_close_journeys_and_leftover_touches_do_not_convert() {
        let touches = vec![
            touch(1, 10, 0),
            touch(1, 20, 1),
            touch(1, 30, 1), // the order's own channel, at the order
            touch(1, 40, 2),
            touch(2, 5, 0),
        ];
        let conversions = vec![conv(1, 30, 99.0), conv(3, 50, 10.0)];
        let (j, counts) = assemble(touches, conversions, &names(), 1_000);
        assert_eq!(
            rows(&j),
            vec![
                ("kol›a".to_string(), 0.0, 0.0, 1.0),
                ("wechat".to_string(), 0.0, 0.0, 1.0),
                ("wechat > douyin > douyin".to_string(), 1.0, 99.0, 0.0),
            ]
        );
        assert_eq!(counts.converting, 1);
        assert_eq!(counts.non_converting, 2);
        assert_eq!(counts.unattributed, 1);
        assert_eq!(counts.unattributed_value, 10.0);
    }

    #[test]
    fn touches_older_than_the_lookback_are_left_out() {
        let touches = vec![touch(1, 0, 0), touch(1, 95, 1)];
        let (j, _) = assemble(touches, vec![conv(1, 100, 1.0)], &names(), 10);
        assert_eq!(rows(&j), vec![("douyin".to_string(), 1.0, 1.0, 0.0)]);
    }

    #[test]
    fn a_second_conversion_takes_only_the_touches_after_the_first() {
        let touches = vec![touch(1, 1, 0), touch(1, 3, 1)];
        let (j, counts) = assemble(
            touches,
            vec![conv(1, 2, 5.0), conv(1, 4, 7.0)],
            &names(),
            100,
        );
        assert_eq!(
            rows(&j),
            vec![
                ("douyin".to_string(), 1.0, 7.0, 0.0),
                ("wechat".to_string(), 1.0, 5.0, 0.0),
            ]
        );
        assert_eq!(counts.converting, 2);
    }
}
