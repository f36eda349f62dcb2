"""libFuzzer targets, built with Debian's clang and run for a bounded time by `bazel test`.

    clownix_fuzz_test(
        name = "label_selector_fuzzer",
        srcs = ["fuzz/label_selector_fuzzer.cc"],   # defines LLVMFuzzerTestOneInput
        deps = [":label_selector"],                 # the cc_libraries it calls
        corpus = ["fuzz/corpus/label_selector/role", ...],
    )

gives `label_selector_fuzzer` (the binary, for longer runs by hand:
`bazel build //server:label_selector_fuzzer && bazel-bin/server/label_selector_fuzzer DIR`) and
`label_selector_fuzzer_test`, which runs it from the seeds for `seconds`.

Why a rule of its own: the C++ toolchain of the build is g++, which has no libFuzzer, and switching
toolchains per target needs configuration transitions. So the rule takes the sources of every
cc_library in `deps` (transitively, generated protobuf code included: an aspect collects them),
compiles them all again with clang -fsanitize=fuzzer,address,undefined (build_fuzzer.sh), and links
with the linkopts of the system libraries (@system_*) they depend on. Nothing is listed twice.
"""

FuzzSourcesInfo = provider(
    doc = "What a fuzzer compiles and links for a cc_library and its deps.",
    fields = {
        "srcs": "depset of the .cc (and .c) files to compile",
        "hdrs": "depset of the headers they include",
        "defines": "depset of -D values",
        "linkopts": "depset of the system libraries' link flags",
    },
)

def _is_source(f):
    return f.extension in ("cc", "c", "cpp")

def _fuzz_sources_aspect_impl(target, ctx):
    srcs, hdrs, defines, linkopts = [], [], [], []
    if ctx.rule.kind == "cc_library":
        defines = ctx.rule.attr.defines
        if target.label.workspace_name:
            linkopts = ctx.rule.attr.linkopts  # A system library: its code is in /usr/lib.
        else:
            for f in ctx.rule.files.srcs:
                (srcs if _is_source(f) else hdrs).append(f)
            hdrs += ctx.rule.files.hdrs + ctx.rule.files.textual_hdrs
    deps = [d[FuzzSourcesInfo] for d in getattr(ctx.rule.attr, "deps", []) if FuzzSourcesInfo in d]
    return [FuzzSourcesInfo(
        srcs = depset(srcs, transitive = [d.srcs for d in deps]),
        hdrs = depset(hdrs, transitive = [d.hdrs for d in deps]),
        defines = depset(defines, transitive = [d.defines for d in deps]),
        linkopts = depset(linkopts, transitive = [d.linkopts for d in deps]),
    )]

_fuzz_sources_aspect = aspect(
    implementation = _fuzz_sources_aspect_impl,
    attr_aspects = ["deps"],
)

def _clownix_fuzzer_impl(ctx):
    deps = [d[FuzzSourcesInfo] for d in ctx.attr.deps]
    srcs = depset(ctx.files.srcs, transitive = [d.srcs for d in deps]).to_list()
    hdrs = depset(transitive = [d.hdrs for d in deps])
    defines = depset(transitive = [d.defines for d in deps]).to_list()
    linkopts = depset(transitive = [d.linkopts for d in deps]).to_list()
    out = ctx.actions.declare_file(ctx.label.name)
    args = ctx.actions.args()
    args.add(out)
    args.add(ctx.bin_dir.path)
    args.add_all(defines, format_each = "-D%s")
    args.add("--srcs")
    args.add_all(srcs)
    args.add("--libs")
    args.add_all(linkopts)
    ctx.actions.run(
        executable = ctx.executable._build,
        arguments = [args],
        inputs = depset(srcs, transitive = [hdrs]),
        outputs = [out],
        mnemonic = "FuzzerBuild",
        progress_message = "Building fuzzer %s with clang" % ctx.label,
        use_default_shell_env = True,  # clang++ and nproc from PATH.
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

clownix_fuzzer = rule(
    implementation = _clownix_fuzzer_impl,
    doc = "A libFuzzer binary from `srcs` and every cc_library in `deps` (see the file's doc).",
    attrs = {
        "srcs": attr.label_list(allow_files = [".cc"], mandatory = True),
        "deps": attr.label_list(aspects = [_fuzz_sources_aspect]),
        "_build": attr.label(
            default = "//bazel/fuzz:build_fuzzer.sh",
            allow_single_file = True,
            executable = True,
            cfg = "exec",
        ),
    },
    executable = True,
)

def clownix_fuzz_test(
        name,
        srcs,
        deps,
        corpus,
        dict = None,
        seconds = 5,
        max_len = 4096,
        visibility = None):
    """The fuzzer `name` and `name`_test, which runs it for `seconds` from the seeds in `corpus`.

    `dict`: a libFuzzer dictionary (tokens of the input's syntax, e.g. field names); `max_len`: the
    longest input tried. Tagged "fuzz": tools/test.sh leaves them out of the TSAN run (they are not
    TSAN builds).
    """
    clownix_fuzzer(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps,
        visibility = visibility,
    )
    native.sh_test(
        name = name + "_test",
        size = "small",
        srcs = ["//bazel/fuzz:run_fuzzer.sh"],
        args = [
            "$(rootpath :%s)" % name,
            str(seconds),
            str(max_len),
            "$(rootpath %s)" % dict if dict else "''",
        ] + ["$(rootpath %s)" % f for f in corpus],
        data = [":" + name] + corpus + ([dict] if dict else []),
        tags = ["fuzz"],
    )
