//! Attribute macros for [otelix](https://docs.rs/otelix), re-exported from it: use them as
//! `#[otelix::external(...)]` and `#[otelix::job(...)]`.
//!
//! Both wrap an `async fn`'s body and record through otelix's process-wide trackers
//! (`ExternalTracker::global`, `JobTracker::global`), which are built from the providers that
//! `otelix::init` installs: a function has no telemetry handle to pass. Code that holds a
//! handle can call `ExternalTracker::track` and `JobTracker::track` directly instead.
//!
//! Both accept `crate = "path"` for when otelix is reachable under another name (default
//! `::otelix`).
#![deny(missing_docs)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{parse_quote, parse_quote_spanned, Ident, ItemFn, LitStr, Path, ReturnType, Type};

/// Records an `async fn` as a call to an external service, as
/// `otelix::external::track_external(service, operation, async move { body })` does: a CLIENT
/// span named `{service} {operation}`, child of the current context, and the
/// `http.client.request.duration` histogram labelled `service.peer.name`, `otelix.operation`
/// and, when the function returns `Err(E)`, `error.type` = `E`'s type name.
///
/// The function must be `async` and return `Result<T, E>` or `()`; its signature is unchanged.
///
/// ```ignore
/// #[otelix::external(service = "stripe", operation = "create_payment")]
/// async fn create_payment(amount: u64) -> Result<PaymentId, StripeError> {
///     stripe_sdk::create(amount).await
/// }
/// ```
#[proc_macro_attribute]
pub fn external(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_external(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Records every call of an `async fn` as a run of a background job, as
/// `otelix::jobs::track_job(name, async move { body })` does: a root span linked to the
/// caller's span, `otelix.job.duration`, `otelix.job.runs` and, on success,
/// `otelix.job.last_success_timestamp`.
///
/// The function must be `async` and return `Result<T, E>` or `()`. Its return type becomes
/// `otelix::jobs::JobResult<R>` for the declared `R`, that is `Result<T, JobError<E>>`
/// (`Result<(), JobError<Infallible>>` for `()`), because a panic in the body is caught and
/// returned as `JobError::Panicked`.
///
/// ```ignore
/// #[otelix::job(name = "dunning_reminder")]
/// async fn dunning_reminder(db: &Db) -> Result<usize, ReminderError> {
///     send_reminders(db).await
/// }
/// // dunning_reminder(&db).await: Result<usize, JobError<ReminderError>>
/// ```
#[proc_macro_attribute]
pub fn job(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_job(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `key = "string"` arguments, each at most once, each checked against the keys a macro knows.
struct Args {
    macro_name: &'static str,
    values: Vec<(&'static str, LitStr)>,
    krate: Option<Path>,
}

impl Args {
    fn parse(
        macro_name: &'static str,
        known: &[&'static str],
        attr: TokenStream2,
    ) -> syn::Result<Self> {
        let mut args = Args {
            macro_name,
            values: Vec::new(),
            krate: None,
        };
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("crate") {
                if args.krate.is_some() {
                    return Err(meta.error("`crate` is given more than once"));
                }
                let value: LitStr = meta.value()?.parse()?;
                args.krate = Some(value.parse()?);
                return Ok(());
            }
            let Some(key) = known.iter().copied().find(|key| meta.path.is_ident(key)) else {
                let given = meta.path.to_token_stream().to_string().replace(' ', "");
                let expected = known
                    .iter()
                    .map(|key| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(meta.error(format!(
                    "unknown argument `{given}` for #[otelix::{macro_name}]: expected {expected} or `crate`"
                )));
            };
            if args.values.iter().any(|(seen, _)| *seen == key) {
                return Err(meta.error(format!("`{key}` is given more than once")));
            }
            let value = meta.value().map_err(|_| {
                meta.error(format!("`{key}` needs a string value: `{key} = \"...\"`"))
            })?;
            let literal: LitStr = value.parse().map_err(|error| {
                syn::Error::new(
                    error.span(),
                    format!("`{key}` needs a string literal, such as `{key} = \"name\"`"),
                )
            })?;
            if literal.value().trim().is_empty() {
                return Err(syn::Error::new(
                    literal.span(),
                    format!("`{key}` must not be empty"),
                ));
            }
            args.values.push((key, literal));
            Ok(())
        });
        syn::parse::Parser::parse2(parser, attr)?;
        Ok(args)
    }

    /// The value of `key`, or an error at the attribute naming what is missing.
    fn required(&self, key: &str, example: &str) -> syn::Result<LitStr> {
        self.values
            .iter()
            .find(|(seen, _)| *seen == key)
            .map(|(_, value)| value.clone())
            .ok_or_else(|| {
                syn::Error::new(
                    Span::call_site(),
                    format!(
                        "#[otelix::{}] needs `{key}`: #[otelix::{}({example})]",
                        self.macro_name, self.macro_name
                    ),
                )
            })
    }

    fn krate(&self) -> Path {
        self.krate.clone().unwrap_or_else(|| parse_quote!(::otelix))
    }
}

fn parse_async_fn(macro_name: &str, example: &str, item: TokenStream2) -> syn::Result<ItemFn> {
    let function: ItemFn = syn::parse2(item).map_err(|error| {
        syn::Error::new(
            error.span(),
            format!("#[otelix::{macro_name}] goes on an `async fn`, as in #[otelix::{macro_name}({example})] async fn ..."),
        )
    })?;
    if function.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            function.sig.fn_token.span(),
            format!("#[otelix::{macro_name}] needs an `async fn`: this function is not async"),
        ));
    }
    Ok(function)
}

const EXTERNAL_EXAMPLE: &str = r#"service = "stripe", operation = "create_payment""#;
const JOB_EXAMPLE: &str = r#"name = "dunning_reminder""#;

fn expand_external(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = Args::parse("external", &["service", "operation"], attr)?;
    let function = parse_async_fn("external", EXTERNAL_EXAMPLE, item)?;
    let service = args.required("service", EXTERNAL_EXAMPLE)?;
    let operation = args.required("operation", EXTERNAL_EXAMPLE)?;
    let krate = args.krate();
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    let output = declared_output(&sig.output);
    let body = wrapped_body(&output, &block);
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #krate::external::track_external(#service, #operation, #body).await
        }
    })
}

fn expand_job(attr: TokenStream2, item: TokenStream2) -> syn::Result<TokenStream2> {
    let args = Args::parse("job", &["name"], attr)?;
    let function = parse_async_fn("job", JOB_EXAMPLE, item)?;
    let name = args.required("name", JOB_EXAMPLE)?;
    let krate = args.krate();
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = function;
    let output = declared_output(&sig.output);
    let body = wrapped_body(&output, &block);
    let arrow = match &sig.output {
        ReturnType::Type(arrow, _) => *arrow,
        ReturnType::Default => parse_quote!(->),
    };
    let result_type: Type = parse_quote_spanned!(output.span()=> #krate::jobs::JobResult<#output>);
    sig.output = ReturnType::Type(arrow, Box::new(result_type));
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #krate::jobs::track_job(#name, #body).await
        }
    })
}

/// The declared output type, `()` when there is none.
fn declared_output(output: &ReturnType) -> Type {
    match output {
        ReturnType::Default => parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

/// `async move { body }`, typed as the function's declared output.
///
/// The unreachable early `return` of a value of the declared type tells the compiler the
/// block's output type before it reads the body, so `?` and bare `return`s in the body keep
/// converting into the declared error type (the technique of `tracing::instrument`). It is
/// left out for `impl Trait` outputs, which cannot be named in a `let`.
fn wrapped_body(output: &Type, block: &syn::Block) -> TokenStream2 {
    let fake_return = if contains_impl_trait(output) {
        TokenStream2::new()
    } else {
        let marker = Ident::new("__otelix_declared_output", Span::mixed_site());
        quote! {
            #[allow(
                unknown_lints,
                unreachable_code,
                clippy::diverging_sub_expression,
                clippy::empty_loop,
                clippy::let_unit_value,
                clippy::let_with_type_underscore,
                clippy::needless_return,
                clippy::unreachable
            )]
            if false {
                let #marker: #output = loop {};
                return #marker;
            }
        }
    };
    let statements = &block.stmts;
    quote! {
        async move {
            #fake_return
            #(#statements)*
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|token| matches!(&token, proc_macro2::TokenTree::Ident(ident) if ident == "impl"))
        || matches!(ty, Type::ImplTrait(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn external_error(attr: TokenStream2, item: TokenStream2) -> String {
        match expand_external(attr, item) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(error) => error.to_string(),
        }
    }

    fn job_error(attr: TokenStream2, item: TokenStream2) -> String {
        match expand_job(attr, item) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(error) => error.to_string(),
        }
    }

    fn compact(tokens: &TokenStream2) -> String {
        tokens.to_string().replace(' ', "")
    }

    #[test]
    fn external_wraps_the_body_and_keeps_the_signature() {
        let expanded = expand_external(
            quote!(service = "stripe", operation = "create_payment"),
            quote!(
                pub async fn pay(amount: u64) -> Result<u64, E> {
                    Ok(amount)
                }
            ),
        )
        .expect("the #[external] arguments are valid");
        let text = compact(&expanded);
        assert!(
            text.starts_with("pubasyncfnpay(amount:u64)->Result<u64,E>{"),
            "{text}"
        );
        assert!(
            text.contains(
                "::otelix::external::track_external(\"stripe\",\"create_payment\",asyncmove{"
            ),
            "{text}"
        );
        assert!(
            text.contains("let__otelix_declared_output:Result<u64,E>=loop{};"),
            "{text}"
        );
        assert!(text.ends_with("Ok(amount)}).await}"), "{text}");
    }

    #[test]
    fn job_rewrites_the_return_type() {
        let expanded = expand_job(
            quote!(name = "dunning_reminder"),
            quote!(
                async fn remind() -> Result<usize, E> {
                    Ok(1)
                }
            ),
        )
        .expect("the #[job] arguments are valid");
        let text = compact(&expanded);
        assert!(
            text.starts_with("asyncfnremind()->::otelix::jobs::JobResult<Result<usize,E>>{"),
            "{text}"
        );
        assert!(
            text.contains("::otelix::jobs::track_job(\"dunning_reminder\",asyncmove{"),
            "{text}"
        );

        let unit = expand_job(
            quote!(name = "tick"),
            quote!(
                async fn tick() {}
            ),
        )
        .expect("the #[job] arguments are valid");
        assert!(
            compact(&unit).starts_with("asyncfntick()->::otelix::jobs::JobResult<()>{"),
            "{unit}"
        );
    }

    #[test]
    fn crate_path_can_be_overridden() {
        let expanded = expand_job(
            quote!(name = "x", crate = "my_otelix"),
            quote!(
                async fn x() {}
            ),
        )
        .expect("the #[job] arguments are valid");
        assert!(compact(&expanded).contains("my_otelix::jobs::track_job"));
    }

    #[test]
    fn missing_arguments_are_named() {
        let error = external_error(
            quote!(operation = "create_payment"),
            quote!(
                async fn pay() {}
            ),
        );
        assert!(error.contains("needs `service`"), "{error}");
        let error = external_error(
            quote!(service = "stripe"),
            quote!(
                async fn pay() {}
            ),
        );
        assert!(error.contains("needs `operation`"), "{error}");
        let error = job_error(
            quote!(),
            quote!(
                async fn run() {}
            ),
        );
        assert!(error.contains("needs `name`"), "{error}");
    }

    #[test]
    fn wrong_arguments_are_explained() {
        let error = external_error(
            quote!(service = "stripe", operation = "pay", retries = "3"),
            quote!(
                async fn pay() {}
            ),
        );
        assert!(error.contains("unknown argument `retries`"), "{error}");
        let error = external_error(
            quote!(service = stripe, operation = "pay"),
            quote!(
                async fn pay() {}
            ),
        );
        assert!(error.contains("needs a string literal"), "{error}");
        let error = external_error(
            quote!(service = "stripe", service = "x", operation = "pay"),
            quote!(
                async fn pay() {}
            ),
        );
        assert!(error.contains("more than once"), "{error}");
        let error = job_error(
            quote!(name = ""),
            quote!(
                async fn run() {}
            ),
        );
        assert!(error.contains("must not be empty"), "{error}");
        let error = job_error(
            quote!(name),
            quote!(
                async fn run() {}
            ),
        );
        assert!(error.contains("needs a string value"), "{error}");
    }

    #[test]
    fn only_async_functions_are_accepted() {
        let error = external_error(
            quote!(service = "stripe", operation = "pay"),
            quote!(
                fn pay() {}
            ),
        );
        assert!(error.contains("needs an `async fn`"), "{error}");
        let error = job_error(
            quote!(name = "x"),
            quote!(
                struct NotAFunction;
            ),
        );
        assert!(error.contains("goes on an `async fn`"), "{error}");
    }

    #[test]
    fn impl_trait_outputs_skip_the_type_hint() {
        let expanded = expand_external(
            quote!(service = "s", operation = "o"),
            quote!(
                async fn f() -> Result<impl Sized, E> {
                    Ok(1)
                }
            ),
        )
        .expect("the #[external] arguments are valid");
        assert!(!compact(&expanded).contains("__otelix_declared_output"));
    }
}
