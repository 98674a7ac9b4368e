//! Marketing consent per channel (PIPL): nobody is sent marketing on a channel without a
//! recorded "yes" for it. Each change keeps when and where it was given or withdrawn.

use crate::input::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsentChannel {
    Sms,
    /// Official-account template messages (公众号/服务号).
    Wechat,
    /// WeCom (企业微信) one-to-one and group messages.
    Wecom,
    /// Mini-program subscription messages (订阅消息).
    MiniProgram,
    Email,
    Phone,
    Push,
    Douyin,
}

impl ConsentChannel {
    pub const ALL: [ConsentChannel; 8] = [
        ConsentChannel::Sms,
        ConsentChannel::Wechat,
        ConsentChannel::Wecom,
        ConsentChannel::MiniProgram,
        ConsentChannel::Email,
        ConsentChannel::Phone,
        ConsentChannel::Push,
        ConsentChannel::Douyin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentChannel::Sms => "sms",
            ConsentChannel::Wechat => "wechat",
            ConsentChannel::Wecom => "wecom",
            ConsentChannel::MiniProgram => "mini_program",
            ConsentChannel::Email => "email",
            ConsentChannel::Phone => "phone",
            ConsentChannel::Push => "push",
            ConsentChannel::Douyin => "douyin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        ConsentChannel::ALL
            .into_iter()
            .find(|c| c.as_str() == raw)
            .ok_or_else(|| {
                InvalidInput::new(
                    "channel",
                    format!(
                        "`{raw}` is not a consent channel: use one of {}",
                        ConsentChannel::ALL.map(|c| c.as_str()).join(", ")
                    ),
                )
            })
    }
}

/// Where a consent came from, e.g. `mini_program_signup`, `wecom_chat`, `support_call`.
pub fn check_source(raw: &str) -> Result<String, InvalidInput> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 64 || trimmed.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "source",
            "say where the consent came from in 1 to 64 characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip_and_unknown_ones_list_the_choices() {
        for c in ConsentChannel::ALL {
            assert_eq!(ConsentChannel::parse(c.as_str()).unwrap(), c);
        }
        assert!(ConsentChannel::parse("fax")
            .unwrap_err()
            .message()
            .contains("mini_program"));
        assert!(check_source(" ").is_err());
        assert_eq!(check_source(" signup ").unwrap(), "signup");
    }
}
