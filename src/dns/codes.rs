//! Enums that own their codes: the kebab-case words the manifest, the state
//! files and the JSON reports spell, written once per variant. `codes!`
//! gives an enum `ALL`, `code()`, `from_code()`, and serde impls that
//! write and read exactly those codes.

/// `codes!(Enum { Variant => "code", ... })`, for an enum of unit variants
/// that is `Copy` and `PartialEq`.
macro_rules! codes {
    ($name:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code, as files and reports spell it.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            pub fn from_code(code: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.code() == code)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <String as serde::Deserialize>::deserialize(d)?;
                $name::from_code(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} {code:?}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

pub(crate) use codes;

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        DeepRed,
        Blue,
    }

    codes!(Colour { DeepRed => "deep-red", Blue => "blue" });

    #[test]
    fn codes_are_written_and_read_back() {
        assert_eq!(Colour::ALL, [Colour::DeepRed, Colour::Blue]);
        assert_eq!(
            serde_json::to_string(&Colour::DeepRed).unwrap(),
            r#""deep-red""#
        );
        let back: Colour = serde_json::from_str(r#""blue""#).unwrap();
        assert_eq!(back, Colour::Blue);
        let err = serde_json::from_str::<Colour>(r#""green""#).unwrap_err();
        assert!(
            err.to_string().contains("unknown Colour \"green\""),
            "{err}"
        );
        assert_eq!(Colour::from_code("nope"), None);
    }
}
