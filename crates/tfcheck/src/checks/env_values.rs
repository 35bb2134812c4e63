use crate::*;

/// One row of an environment table: module, setting, expected value.
pub type Row<'a> = (&'a str, &'a str, Value);

/// Check 4: the effective module inputs of an environment equal the rows.
pub fn check_env_values(env_dir: &Path, rows: &[Row<'_>]) -> Vec<String> {
    let env = match Env::load(env_dir, &[]) {
        Ok(e) => e,
        Err(e) => return vec![e],
    };
    let mut errs = Vec::new();
    for (module, setting, expected) in rows {
        match env.module_input(module, setting) {
            Ok(v) if &v == expected => {}
            Ok(v) => errs.push(format!(
                "{}: {module}.{setting} is {v}, the seed table says {expected}",
                env.label
            )),
            Err(e) => errs.push(e),
        }
    }
    errs
}
