//! `tensorserve model show|run`: what `saved_model_cli` is to TensorFlow users, without
//! TensorFlow. `show` describes a version directory; `run` executes one signature on inputs
//! given in TF Serving's columnar `inputs` JSON and prints the outputs as JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use tensorserve_core::Model;
use tensorserve_savedmodel::{SavedModelDir, loader::is_saved_model_dir};

/// Inspect and run a model directory.
#[derive(Debug, Parser)]
#[command(
    name = "tensorserve model",
    about = "Inspect and run a model version directory"
)]
pub struct ModelCli {
    #[command(subcommand)]
    command: ModelCommand,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Print tags, signatures (dtypes and shapes), variables and the ops used.
    Show {
        /// A version directory (holding saved_model.pb or model.onnx).
        dir: PathBuf,
        /// Comma-separated MetaGraph tags.
        #[arg(long, default_value = "serve")]
        tags: String,
    },
    /// Run one signature and print its outputs as JSON.
    Run {
        /// A version directory (holding saved_model.pb or model.onnx).
        dir: PathBuf,
        /// The signature to run.
        #[arg(long, default_value = "serving_default")]
        signature: String,
        /// Inputs in TF Serving's columnar form: an object keyed by input name, or a bare value
        /// for a single-input signature.
        #[arg(long)]
        inputs: String,
        /// Comma-separated MetaGraph tags.
        #[arg(long, default_value = "serve")]
        tags: String,
    },
}

/// Runs the subcommand; the error is printed to stderr by the caller.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let cli =
        ModelCli::try_parse_from(std::iter::once("tensorserve model".to_string()).chain(args))
            .map_err(|e| match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    print!("{e}");
                    std::process::exit(0)
                }
                _ => anyhow::anyhow!("{e}"),
            })?;
    match cli.command {
        ModelCommand::Show { dir, tags } => {
            print!("{}", show(&dir, &split_tags(&tags))?);
            Ok(())
        }
        ModelCommand::Run {
            dir,
            signature,
            inputs,
            tags,
        } => {
            let tags = split_tags(&tags);
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            let model = tensorserve_runtime::load_model(&dir, &tags)
                .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
            let output = run_signature(model.as_ref(), &signature, inputs.as_bytes())?;
            println!("{}", String::from_utf8_lossy(&output));
            Ok(())
        }
    }
}

fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// Runs `signature` on columnar JSON `inputs`, returning the `{"outputs": ...}` JSON.
pub fn run_signature(model: &dyn Model, signature: &str, inputs: &[u8]) -> anyhow::Result<Vec<u8>> {
    let sig = model.signatures().get(signature).ok_or_else(|| {
        anyhow::anyhow!("Serving signature name: \"{signature}\" not found in signature def")
    })?;
    let mut body = b"{\"inputs\":".to_vec();
    body.extend_from_slice(inputs);
    body.push(b'}');
    let request = tensorserve_core::json::parse_predict_request(&body, |_| Ok(&sig.inputs))
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    let outputs = model
        .run(signature, request.inputs, &[])
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    tensorserve_core::json::predict_response(&outputs, request.format)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}

fn shape_text(shape: &Option<Vec<tensorserve_core::signature::Dim>>) -> String {
    match shape {
        None => "unknown rank".to_string(),
        Some(dims) => format!(
            "({})",
            dims.iter()
                .map(|d| d.size.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The text `model show` prints.
pub fn show(dir: &Path, tags: &[String]) -> anyhow::Result<String> {
    let mut out = String::new();
    if !is_saved_model_dir(dir) {
        let model = tensorserve_runtime::load_model(dir, &[])
            .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        out.push_str(&format!(
            "format: ONNX ({})\n",
            dir.join("model.onnx").display()
        ));
        describe_signatures(&mut out, model.signatures());
        return Ok(out);
    }
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let saved = SavedModelDir::open(dir, &tag_refs)?;
    let meta_tags = saved
        .meta_graph
        .meta_info_def
        .as_ref()
        .map(|m| m.tags.join(", "))
        .unwrap_or_default();
    out.push_str(&format!(
        "format: SavedModel ({})\ntags: {meta_tags}\n",
        dir.display()
    ));
    describe_signatures(&mut out, &saved.signatures);
    if let Some(bundle) = &saved.variables {
        out.push_str("variables:\n");
        for key in bundle.keys() {
            if let Some((dtype, shape)) = bundle.dtype_and_shape(key) {
                let dtype = tensorserve_core::DType::from_tf_enum(dtype)
                    .map(|d| d.tf_name())
                    .unwrap_or("?");
                out.push_str(&format!("  {key}: {dtype} {shape:?}\n"));
            }
        }
    }
    let mut ops: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    if let Some(graph) = &saved.meta_graph.graph_def {
        for node in &graph.node {
            ops.entry(node.op.as_str()).or_default().insert("graph");
        }
        for function in graph.library.iter().flat_map(|l| l.function.iter()) {
            for node in &function.node_def {
                ops.entry(node.op.as_str()).or_default().insert("functions");
            }
        }
    }
    out.push_str("ops:\n");
    for (op, places) in ops {
        out.push_str(&format!(
            "  {op} ({})\n",
            places.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(out)
}

fn describe_signatures(
    out: &mut String,
    signatures: &BTreeMap<String, tensorserve_core::SignatureDef>,
) {
    out.push_str("signatures:\n");
    for (name, sig) in signatures {
        out.push_str(&format!(
            "  {name} (method {}):\n",
            if sig.method_name.is_empty() {
                "-"
            } else {
                &sig.method_name
            }
        ));
        for (kind, map) in [("input", &sig.inputs), ("output", &sig.outputs)] {
            for (alias, info) in map {
                out.push_str(&format!(
                    "    {kind} {alias}: {} {} <- {}\n",
                    info.dtype.tf_name(),
                    shape_text(&info.shape),
                    info.name
                ));
            }
        }
    }
}
