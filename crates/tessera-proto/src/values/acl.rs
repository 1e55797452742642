//! Canned ACLs and the `x-*-grant-*` header lists.

use std::fmt;

use crate::{Dialect, InvalidValue};

/// A canned ACL, held in the vendor's spelling (`private`, `public-read`, COS/OSS `default`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CannedAcl(&'static str);

impl CannedAcl {
    /// Parses `value` as one of `dialect`'s canned ACLs (ASCII case-insensitive); fails with
    /// `InvalidArgument`.
    pub fn parse(dialect: Dialect, value: &str) -> Result<Self, InvalidValue> {
        let value = value.trim();
        dialect
            .spec()
            .canned_acls
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value))
            .map(|a| CannedAcl(a))
            .ok_or_else(|| InvalidValue::argument("The canned ACL you specified is not valid."))
    }

    /// The vendor's spelling.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for CannedAcl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A permission an ACL grants, as in `<Permission>` and the `grant-*` header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// `READ` (`grant-read`).
    Read,
    /// `WRITE` (`grant-write`).
    Write,
    /// `READ_ACP` (`grant-read-acp`).
    ReadAcp,
    /// `WRITE_ACP` (`grant-write-acp`).
    WriteAcp,
    /// `FULL_CONTROL` (`grant-full-control`).
    FullControl,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 5] = [Self::Read, Self::Write, Self::ReadAcp, Self::WriteAcp, Self::FullControl];

    /// The name in `<Permission>` (`FULL_CONTROL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "READ",
            Self::Write => "WRITE",
            Self::ReadAcp => "READ_ACP",
            Self::WriteAcp => "WRITE_ACP",
            Self::FullControl => "FULL_CONTROL",
        }
    }

    /// The header suffix after the vendor prefix (`grant-full-control`).
    pub fn header_suffix(self) -> &'static str {
        match self {
            Self::Read => "grant-read",
            Self::Write => "grant-write",
            Self::ReadAcp => "grant-read-acp",
            Self::WriteAcp => "grant-write-acp",
            Self::FullControl => "grant-full-control",
        }
    }

    /// The permission a grant header carries: `x-cos-grant-read` → `Read` for COS.
    pub fn from_header_name(dialect: Dialect, name: &str) -> Option<Self> {
        let prefix = dialect.header_prefix();
        let head = name.get(..prefix.len())?;
        let suffix = name.get(prefix.len()..)?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        Self::ALL.into_iter().find(|p| p.header_suffix().eq_ignore_ascii_case(suffix))
    }

    /// The permission named `s` (`READ_ACP`), exactly as S3 spells it.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Permission::from_name(s.trim()).ok_or_else(|| serde::de::Error::custom("unknown permission"))
    }
}

/// Whom a `grant-*` header names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Grantee {
    /// `id="…"`: a canonical user id (COS `OwnerUin`, KS3 user id).
    Id(String),
    /// `uri="…"`: a predefined group (`http://acs.amazonaws.com/groups/global/AllUsers`).
    Uri(String),
    /// `emailAddress="…"`: a user by e-mail (AWS only, but harmless elsewhere).
    EmailAddress(String),
}

/// Most grantees one header may list.
pub const MAX_GRANTS: usize = 1000;

/// Parses a grant header value: comma-separated `type="value"` items, `type` one of `id`,
/// `uri`, `emailAddress` (case-insensitive), quotes optional around values without commas.
/// Fails with `InvalidArgument` on any syntax error, an empty list or more than
/// [`MAX_GRANTS`] entries.
pub fn parse_grants(value: &str) -> Result<Vec<Grantee>, InvalidValue> {
    let bad =
        || InvalidValue::argument("The grant header is not a valid list of id=\"…\", uri=\"…\" or emailAddress=\"…\".");
    let mut out = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').ok_or_else(bad)?;
        let after = after.trim_start();
        let (item, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let (item, tail) = quoted.split_once('"').ok_or_else(bad)?;
            (item, tail.trim_start())
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim_end(), &after[end..])
        };
        if item.is_empty() {
            return Err(bad());
        }
        let grantee = match name.trim().to_ascii_lowercase().as_str() {
            "id" => Grantee::Id(item.to_owned()),
            "uri" => Grantee::Uri(item.to_owned()),
            "emailaddress" => Grantee::EmailAddress(item.to_owned()),
            _ => return Err(bad()),
        };
        if out.len() == MAX_GRANTS {
            return Err(InvalidValue::argument("A grant header may list at most 1000 grantees."));
        }
        out.push(grantee);
        rest = match tail.strip_prefix(',') {
            Some(next) => {
                let next = next.trim_start();
                if next.is_empty() {
                    return Err(bad());
                }
                next
            }
            None if tail.is_empty() => tail,
            None => return Err(bad()),
        };
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use proptest::prelude::*;

    #[test]
    fn canned_acls_per_dialect() {
        assert_eq!(
            CannedAcl::parse(Dialect::Aws, "bucket-owner-full-control").unwrap().as_str(),
            "bucket-owner-full-control"
        );
        assert_eq!(CannedAcl::parse(Dialect::Cos, "default").unwrap().as_str(), "default");
        assert_eq!(CannedAcl::parse(Dialect::Oss, "Public-Read").unwrap().as_str(), "public-read");
        assert_eq!(CannedAcl::parse(Dialect::Aws, "default").unwrap_err().code, ErrorCode::InvalidArgument);
        assert!(CannedAcl::parse(Dialect::Ks3, "authenticated-read").is_err());
    }

    #[test]
    fn grant_lists() {
        // The form in the KS3 and COS documents.
        assert_eq!(
            parse_grants(r#"id="1234578",id="3344211""#).unwrap(),
            vec![Grantee::Id("1234578".into()), Grantee::Id("3344211".into())]
        );
        assert_eq!(
            parse_grants(r#"uri="http://acs.amazonaws.com/groups/global/AllUsers", emailAddress="a@b.c" , ID=x"#)
                .unwrap(),
            vec![
                Grantee::Uri("http://acs.amazonaws.com/groups/global/AllUsers".into()),
                Grantee::EmailAddress("a@b.c".into()),
                Grantee::Id("x".into()),
            ]
        );
        // A quoted value may hold a comma.
        assert_eq!(parse_grants(r#"id="a,b""#).unwrap(), vec![Grantee::Id("a,b".into())]);
        for bad in ["", "id", r#"id="""#, r#"id="a"#, r#"name="a""#, r#"id="a",,id="b""#, r#"id="a","#, r#"id="a" x"#] {
            assert_eq!(parse_grants(bad).unwrap_err().code, ErrorCode::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn grant_list_limit() {
        let list = |n: usize| (0..n).map(|i| format!("id=\"{i}\"")).collect::<Vec<_>>().join(",");
        assert_eq!(parse_grants(&list(1000)).unwrap().len(), 1000);
        assert!(parse_grants(&list(1001)).is_err());
    }

    #[test]
    fn permissions() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_name(p.as_str()), Some(p));
            assert_eq!(Permission::from_header_name(Dialect::Cos, &format!("x-cos-{}", p.header_suffix())), Some(p));
        }
        assert_eq!(Permission::from_header_name(Dialect::Aws, "X-Amz-Grant-Read-ACP"), Some(Permission::ReadAcp));
        assert_eq!(Permission::from_header_name(Dialect::Aws, "x-cos-grant-read"), None);
        assert_eq!(Permission::from_header_name(Dialect::Aws, "x-amz-acl"), None);
    }

    proptest! {
        #[test]
        fn grant_lists_round_trip(ids in proptest::collection::vec("[^\"]{1,20}", 1..20)) {
            let value = ids.iter().map(|i| format!("id=\"{i}\"")).collect::<Vec<_>>().join(", ");
            let parsed = parse_grants(&value).unwrap();
            prop_assert_eq!(parsed, ids.into_iter().map(Grantee::Id).collect::<Vec<_>>());
        }

        #[test]
        fn grant_parsing_never_panics(s in "\\PC{0,80}") {
            let _ = parse_grants(&s);
        }
    }
}
