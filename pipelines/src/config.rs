//! Reading a component's JSON config file, with every failure reported against the file.

use crate::error::ModelError;
use serde::de::DeserializeOwned;
use std::path::Path;

pub fn read_config<T: DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let config_error = |message: String| ModelError::Config {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| config_error(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| config_error(e.to_string()))
}
