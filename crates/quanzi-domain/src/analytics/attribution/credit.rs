//! What every model returns: per-channel credit that adds up to the table's totals.

use std::fmt;

/// The model that produced an [`Attribution`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelName {
    FirstTouch,
    LastTouch,
    Linear,
    /// 40 % first touch, 40 % last touch, 20 % shared by the touches between.
    PositionBased,
    TimeDecay,
    /// Removal effect on a Markov chain whose states are the last `order` channels.
    Markov {
        order: u8,
    },
    /// Shapley values, exact or sampled; see [`Attribution::definition`].
    Shapley,
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelName::FirstTouch => f.write_str("first touch"),
            ModelName::LastTouch => f.write_str("last touch"),
            ModelName::Linear => f.write_str("linear"),
            ModelName::PositionBased => f.write_str("position based"),
            ModelName::TimeDecay => f.write_str("time decay"),
            ModelName::Markov { order } => write!(f, "markov order {order}"),
            ModelName::Shapley => f.write_str("shapley"),
        }
    }
}

/// The conversions and conversion value credited to one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelCredit {
    channel: String,
    conversions: f64,
    value: f64,
}

impl ChannelCredit {
    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn conversions(&self) -> f64 {
        self.conversions
    }

    pub fn value(&self) -> f64 {
        self.value
    }
}

/// Credits for every channel of a path table, in the table's channel order, with the
/// totals they add up to and a sentence saying what exactly was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    model: ModelName,
    credits: Vec<ChannelCredit>,
    total_conversions: f64,
    total_value: f64,
    definition: String,
}

impl Attribution {
    /// `conversions[c]` and `value[c]` belong to `channels[c]`.
    pub(crate) fn new(
        model: ModelName,
        channels: &[String],
        conversions: Vec<f64>,
        value: Vec<f64>,
        totals: (f64, f64),
        definition: String,
    ) -> Self {
        debug_assert_eq!(channels.len(), conversions.len());
        debug_assert_eq!(channels.len(), value.len());
        let credits = channels
            .iter()
            .zip(conversions)
            .zip(value)
            .map(|((channel, conversions), value)| ChannelCredit {
                channel: channel.clone(),
                conversions,
                value,
            })
            .collect();
        Self {
            model,
            credits,
            total_conversions: totals.0,
            total_value: totals.1,
            definition,
        }
    }

    pub fn model(&self) -> ModelName {
        self.model
    }

    pub fn credits(&self) -> &[ChannelCredit] {
        &self.credits
    }

    /// The credit of the channel called `channel`, if the table names it.
    pub fn credit(&self, channel: &str) -> Option<&ChannelCredit> {
        self.credits.iter().find(|credit| credit.channel == channel)
    }

    pub fn total_conversions(&self) -> f64 {
        self.total_conversions
    }

    pub fn total_value(&self) -> f64 {
        self.total_value
    }

    /// What was computed, e.g. `markov order 2, removal effect, exact absorbing-chain solve`.
    pub fn definition(&self) -> &str {
        &self.definition
    }
}
