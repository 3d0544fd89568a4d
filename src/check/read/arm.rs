//! ARM template expressions in names and ids (`[parameters('x')]`,
//! `[variables('x')]`, `[concat(...)]`, `[resourceId(...)]`), resolved from the
//! template's `defaultValue`s; anything else stays as written.

use serde_json::Value;

/// ARM template `parameters` / `variables` with string values, to resolve expressions.
#[derive(Default, Clone)]
pub(super) struct Params {
    values: Vec<(String, String)>,
}

impl Params {
    pub(super) fn from_template(v: &Value) -> Params {
        let mut values = Vec::new();
        if let Some(ps) = v.get("parameters").and_then(Value::as_object) {
            for (k, p) in ps {
                if let Some(d) = p.get("defaultValue").and_then(Value::as_str) {
                    values.push((
                        format!("parameters:{}", k.to_ascii_lowercase()),
                        d.to_string(),
                    ));
                }
            }
        }
        if let Some(vs) = v.get("variables").and_then(Value::as_object) {
            for (k, val) in vs {
                if let Some(s) = val.as_str().filter(|s| !s.starts_with('[')) {
                    values.push((
                        format!("variables:{}", k.to_ascii_lowercase()),
                        s.to_string(),
                    ));
                }
            }
        }
        Params { values }
    }

    fn get(&self, kind: &str, name: &str) -> Option<&str> {
        let key = format!("{kind}:{}", name.to_ascii_lowercase());
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Resolve `[expr]` if it only uses parameters/variables/concat/resourceId
    /// and string literals; otherwise return the text unchanged.
    pub(super) fn resolve(&self, s: &str) -> String {
        let t = s.trim();
        if !(t.starts_with('[') && t.ends_with(']')) || t.starts_with("[[") {
            return s.to_string();
        }
        let mut p = ExprParser {
            s: &t[1..t.len() - 1],
            pos: 0,
            params: self,
        };
        match p.expr() {
            Some(v) if p.rest().is_empty() => v,
            _ => s.to_string(),
        }
    }
}

/// A tiny parser for the ARM expressions ARM exports use in names and ids.
struct ExprParser<'a> {
    s: &'a str,
    pos: usize,
    params: &'a Params,
}

impl ExprParser<'_> {
    fn rest(&self) -> &str {
        self.s[self.pos..].trim()
    }

    fn skip_ws(&mut self) {
        while self.s[self.pos..].starts_with(' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.s[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<String> {
        self.skip_ws();
        if self.s[self.pos..].starts_with('\'') {
            self.pos += 1;
            let end = self.s[self.pos..].find('\'')?;
            let lit = self.s[self.pos..self.pos + end].to_string();
            self.pos += end + 1;
            return Some(lit);
        }
        let start = self.pos;
        while self.s[self.pos..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let func = self.s[start..self.pos].to_ascii_lowercase();
        if func.is_empty() || !self.eat('(') {
            return None;
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.expr()?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return None;
                }
            }
        }
        match (func.as_str(), args.as_slice()) {
            ("parameters", [name]) => self.params.get("parameters", name).map(str::to_string),
            ("variables", [name]) => self.params.get("variables", name).map(str::to_string),
            ("concat", _) => Some(args.concat()),
            ("resourceid", [kind, names @ ..]) if !names.is_empty() => {
                let (ns, types) = kind.split_once('/')?;
                let types: Vec<&str> = types.split('/').collect();
                if types.len() != names.len() {
                    return None;
                }
                let path: Vec<String> = types
                    .iter()
                    .zip(names)
                    .map(|(t, n)| format!("{t}/{n}"))
                    .collect();
                Some(format!("/providers/{ns}/{}", path.join("/")))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_expressions() {
        let p = Params {
            values: vec![
                ("parameters:nsgname".into(), "aib-nsg".into()),
                ("variables:sub".into(), "build".into()),
            ],
        };
        assert_eq!(p.resolve("[parameters('nsgName')]"), "aib-nsg");
        assert_eq!(
            p.resolve("[concat(parameters('nsgName'), '/DenyAll')]"),
            "aib-nsg/DenyAll"
        );
        assert_eq!(
            p.resolve(
                "[resourceId('Microsoft.Network/virtualNetworks/subnets', 'v1', variables('sub'))]"
            ),
            "/providers/Microsoft.Network/virtualNetworks/v1/subnets/build"
        );
        assert_eq!(
            p.resolve("[parameters('unknown')]"),
            "[parameters('unknown')]"
        );
        assert_eq!(
            p.resolve("[uniqueString(resourceGroup().id)]"),
            "[uniqueString(resourceGroup().id)]"
        );
        assert_eq!(p.resolve("plain"), "plain");
    }
}
