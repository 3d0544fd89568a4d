//! One shape for the many spellings of the same resource: PascalCase keys
//! (PowerShell's `ConvertTo-Json`) become camelCase, and every `properties`
//! object is merged into its parent (which is what the Azure CLI prints).

use serde_json::{Map, Value};

/// camelCase keys, `properties` merged into the parent, recursively.
pub(super) fn normalise(v: Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            let mut props = None;
            for (k, v) in m {
                let k = camel(&k);
                if k == "properties" && v.is_object() {
                    props = Some(v);
                } else {
                    out.insert(k, normalise(v));
                }
            }
            if let Some(Value::Object(p)) = props.map(normalise) {
                for (k, v) in p {
                    out.entry(k).or_insert(v);
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}

fn camel(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) if f.is_ascii_uppercase() => {
            // "ID" stays "id", "Name" → "name", "SourceAddressPrefix" → "sourceAddressPrefix".
            if k.chars().all(|ch| ch.is_ascii_uppercase()) {
                k.to_ascii_lowercase()
            } else {
                f.to_ascii_lowercase().to_string() + c.as_str()
            }
        }
        _ => k.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised() {
        let v = normalise(serde_json::json!({
            "Name": "x", "ID": "y", "properties": {"SourceAddressPrefix": "*", "name": "ignored"}
        }));
        assert_eq!(v["name"], "x");
        assert_eq!(v["id"], "y");
        assert_eq!(v["sourceAddressPrefix"], "*");
        assert!(v.get("properties").is_none());
    }
}
