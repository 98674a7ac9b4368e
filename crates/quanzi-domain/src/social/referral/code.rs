//! Invite codes: eight characters a person can read aloud, type from a poster or copy from
//! a screenshot without confusing `0`/`O`, `1`/`I`/`L`.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::input::InvalidInput;

/// Digits 2–9 and the capital letters without I, L and O: 31 symbols, so 31⁸ ≈ 8.5 × 10¹¹
/// codes, enough that random collisions stay rare for any one brand's members.
const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LEN: usize = 8;
/// 31⁸, the number of distinct codes.
const SPACE: u64 = 31u64.pow(LEN as u32);

/// A checked invite code, always upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InviteCode(String);

impl InviteCode {
    pub const LEN: usize = LEN;

    /// The code for `member_id`'s `counter`-th attempt. The same inputs always give the
    /// same code, so a member's code can be re-derived instead of stored first, and a
    /// unique-key collision is resolved by retrying with the next counter. Codes are not
    /// secrets — they exist to be shared — so no key goes into the hash.
    pub fn derive(member_id: &str, counter: u32) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"quanzi-invite-code\0");
        hasher.update(member_id.as_bytes());
        hasher.update(b"\0");
        hasher.update(counter.to_be_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        // 2⁶⁴ is about 2 × 10⁷ times 31⁸, so reducing modulo 31⁸ is uniform to within one
        // part in ten million.
        Self::from_index(u64::from_be_bytes(first) % SPACE)
    }

    /// A uniformly random code, for brands that prefer codes unrelated to member ids.
    pub fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self(
            (0..LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// Accepts a code typed or pasted by a person: surrounding whitespace is ignored and
    /// lower case is raised; anything else (other lengths, `0`, `O`, `1`, `I`, `L`,
    /// punctuation) is refused rather than guessed at, so a mistyped code never lands on
    /// another member's code.
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let code = raw.trim().to_ascii_uppercase();
        if code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Ok(Self(code));
        }
        let message = if code
            .chars()
            .any(|c| matches!(c, '0' | 'O' | '1' | 'I' | 'L'))
        {
            format!(
                "`{}` is not an invite code: codes never contain 0, O, 1, I or L",
                raw.trim()
            )
        } else {
            format!(
                "`{}` is not an invite code: expected {LEN} letters and digits like ABCD2345",
                raw.trim()
            )
        };
        Err(InvalidInput::new("invite_code", message))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_index(mut index: u64) -> Self {
        let mut out = [0u8; LEN];
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(index % 31) as usize];
            index /= 31;
        }
        Self(out.iter().map(|&b| b as char).collect())
    }
}

impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The path of a share link, `/r/ABCD2345`; the server prefixes its public origin and the
/// redirect handler parses the code back with [`InviteCode::parse`].
pub fn share_path(code: &InviteCode) -> String {
    format!("/r/{code}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn parse_raises_case_and_trims() {
        let code = InviteCode::parse("  abcd2345 ").unwrap();
        assert_eq!(code.as_str(), "ABCD2345");
        assert_eq!(share_path(&code), "/r/ABCD2345");
    }

    #[test]
    fn parse_refuses_ambiguous_characters_wrong_lengths_and_punctuation() {
        for bad in [
            "",
            "ABCD234",
            "ABCD23456",
            "ABCD2340",
            "ABCDO345",
            "ABCD1345",
            "ABCDI345",
            "ABCDL345",
            "abcdl345",
            "ABCD-345",
            "ABCD 345",
            "ÄBCD2345",
            "ABCD２345",
        ] {
            let err = InviteCode::parse(bad).unwrap_err();
            assert_eq!(err.field(), "invite_code", "{bad}");
        }
        assert!(InviteCode::parse("ABCD0345")
            .unwrap_err()
            .message()
            .contains("never contain"));
    }

    #[test]
    fn derived_codes_are_stable_and_differ_by_member_and_counter() {
        let a = InviteCode::derive("mem_01", 0);
        assert_eq!(a, InviteCode::derive("mem_01", 0));
        assert_ne!(a, InviteCode::derive("mem_01", 1));
        assert_ne!(a, InviteCode::derive("mem_02", 0));
    }

    #[test]
    fn the_extreme_indices_encode_to_the_first_and_last_codes() {
        assert_eq!(InviteCode::from_index(0).as_str(), "22222222");
        assert_eq!(InviteCode::from_index(SPACE - 1).as_str(), "ZZZZZZZZ");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_generated_code_parses_back_to_itself(
            member in "[a-z0-9_]{1,30}",
            counter in any::<u32>(),
            seed in any::<u64>(),
        ) {
            let derived = InviteCode::derive(&member, counter);
            let random = InviteCode::random(&mut rand::rngs::StdRng::seed_from_u64(seed));
            for code in [derived, random] {
                prop_assert_eq!(InviteCode::parse(code.as_str()).unwrap(), code.clone());
                prop_assert_eq!(
                    InviteCode::parse(&code.as_str().to_ascii_lowercase()).unwrap(),
                    code
                );
            }
        }
    }
}
