//! Which framework a `Device` belongs to: candle and tch paths, and the local names `use`
//! declarations give their `Device` types (aliases included). A `Device` of the user's own
//! is neither.

use std::collections::HashMap;
use syn::visit::Visit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Candle,
    Tch,
}

pub fn framework_of_crate(name: &str) -> Option<Framework> {
    match name {
        "candle_core" | "candle" => Some(Framework::Candle),
        "tch" => Some(Framework::Tch),
        _ => None,
    }
}

/// Local name -> framework for every `Device` type a file imports.
pub fn imported_device_types(file: &syn::File) -> HashMap<String, Framework> {
    let mut imports = Imports::default();
    imports.visit_file(file);
    imports.device_types
}

#[derive(Default)]
struct Imports {
    device_types: HashMap<String, Framework>,
}

impl Imports {
    fn walk(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.walk(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.walk(item, prefix);
                }
            }
            syn::UseTree::Name(n) if n.ident == "Device" => self.record(prefix, "Device"),
            syn::UseTree::Rename(r) if r.ident == "Device" => {
                self.record(prefix, &r.rename.to_string())
            }
            _ => {}
        }
    }

    fn record(&mut self, prefix: &[String], local: &str) {
        if let Some(framework) = prefix.first().and_then(|c| framework_of_crate(c)) {
            self.device_types.insert(local.to_string(), framework);
        }
    }
}

impl<'a> Visit<'a> for Imports {
    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        self.walk(&item.tree, &mut Vec::new());
    }
}
