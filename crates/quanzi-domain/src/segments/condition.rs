use crate::input::InvalidInput;
use crate::members::{ConsentChannel, EventType, LifecycleStage};

/// Deepest nesting and most nodes a segment may have: enough for any real audience, and a
/// bound on the SQL it compiles to.
pub const MAX_DEPTH: usize = 8;
pub const MAX_NODES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Ok(match raw {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "gt" => Cmp::Gt,
            "gte" => Cmp::Gte,
            "lt" => Cmp::Lt,
            "lte" => Cmp::Lte,
            _ => {
                return Err(InvalidInput::new(
                    "op",
                    format!("`{raw}` is not a comparison: use eq, ne, gt, gte, lt or lte"),
                ))
            }
        })
    }

    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Gt => ">",
            Cmp::Gte => ">=",
            Cmp::Lt => "<",
            Cmp::Lte => "<=",
        }
    }

    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
            Cmp::Gt => left > right,
            Cmp::Gte => left >= right,
            Cmp::Lt => left < right,
            Cmp::Lte => left <= right,
        }
    }
}

/// Numbers kept on the member's profile. Day counts of something that never happened are
/// taken as infinitely long ago (so "no order in 60 days" includes members who never ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileField {
    OrderCount,
    GmvFen,
    RefundFen,
    EventCount,
    DaysSinceLastOrder,
    DaysSinceLastSeen,
    DaysSinceFirstSeen,
}

impl ProfileField {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Ok(match raw {
            "order_count" => ProfileField::OrderCount,
            "gmv_fen" => ProfileField::GmvFen,
            "refund_fen" => ProfileField::RefundFen,
            "event_count" => ProfileField::EventCount,
            "days_since_last_order" => ProfileField::DaysSinceLastOrder,
            "days_since_last_seen" => ProfileField::DaysSinceLastSeen,
            "days_since_first_seen" => ProfileField::DaysSinceFirstSeen,
            _ => {
                return Err(InvalidInput::new(
                    "field",
                    format!("`{raw}` is not a profile field: use order_count, gmv_fen, refund_fen, event_count, days_since_last_order, days_since_last_seen or days_since_first_seen"),
                ))
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfmDimension {
    Recency,
    Frequency,
    Monetary,
}

impl RfmDimension {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Ok(match raw {
            "r" | "recency" => RfmDimension::Recency,
            "f" | "frequency" => RfmDimension::Frequency,
            "m" | "monetary" => RfmDimension::Monetary,
            _ => {
                return Err(InvalidInput::new(
                    "dimension",
                    format!("`{raw}` is not an RFM dimension: use r, f or m"),
                ))
            }
        })
    }
}

/// A test on one trait. Values compare as text; a member without the trait equals nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraitTest {
    Equals(String),
    NotEquals(String),
    OneOf(Vec<String>),
    Exists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// Events of a type in the last `within_days` days, counted and compared.
    Events {
        event_type: EventType,
        within_days: u32,
        cmp: Cmp,
        count: i64,
    },
    /// Orders in the last `within_days` days (`None`: ever), counted and compared.
    Orders {
        within_days: Option<u32>,
        cmp: Cmp,
        count: i64,
    },
    Profile {
        field: ProfileField,
        cmp: Cmp,
        value: i64,
    },
    /// Members without a score count as 0.
    Rfm {
        dimension: RfmDimension,
        cmp: Cmp,
        value: i64,
    },
    Lifecycle(Vec<LifecycleStage>),
    Trait {
        name: String,
        test: TraitTest,
    },
    /// Has a recorded "yes" for marketing on the channel.
    Consent(ConsentChannel),
    /// Carries the tag (`tag_…`), set by hand or by the tag's rule.
    Tag(String),
}

impl Condition {
    /// Checks the tree's size; each node's own fields were checked when it was built.
    pub fn check_size(&self) -> Result<(), InvalidInput> {
        let (depth, nodes) = self.size();
        if depth > MAX_DEPTH {
            return Err(InvalidInput::new(
                "condition",
                format!("nests {depth} levels deep; at most {MAX_DEPTH}"),
            ));
        }
        if nodes > MAX_NODES {
            return Err(InvalidInput::new(
                "condition",
                format!("has {nodes} nodes; at most {MAX_NODES}"),
            ));
        }
        Ok(())
    }

    fn size(&self) -> (usize, usize) {
        match self {
            Condition::All(children) | Condition::Any(children) => children
                .iter()
                .map(Condition::size)
                .fold((1, 1), |(d, n), (cd, cn)| (d.max(cd + 1), n + cn)),
            Condition::Not(child) => {
                let (d, n) = child.size();
                (d + 1, n + 1)
            }
            _ => (1, 1),
        }
    }

    pub fn check_window(days: i64) -> Result<u32, InvalidInput> {
        if (1..=3650).contains(&days) {
            Ok(days as u32)
        } else {
            Err(InvalidInput::new(
                "within_days",
                "must be between 1 and 3650",
            ))
        }
    }

    pub fn check_trait_name(raw: &str) -> Result<String, InvalidInput> {
        if !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            Ok(raw.to_owned())
        } else {
            Err(InvalidInput::new(
                "name",
                "a trait name is 1 to 64 letters, digits or underscores",
            ))
        }
    }

    pub fn parse_stage(raw: &str) -> Result<LifecycleStage, InvalidInput> {
        [LifecycleStage::New, LifecycleStage::Growing, LifecycleStage::Mature, LifecycleStage::ChurnRisk, LifecycleStage::Dormant]
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| InvalidInput::new("in", format!("`{raw}` is not a lifecycle stage: use new, growing, mature, churn_risk or dormant")))
    }
}
