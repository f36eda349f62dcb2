"""clownix_proto: one .proto file compiled with the system protoc and grpc_cpp_plugin.

`clownix_proto(name = "x", src = "x.proto", deps = [...])` gives:
  - `x_cc_proto`: cc_library with the message code (x.pb.h)
  - `x_cc_grpc`: cc_library with the service code (x.grpc.pb.h), when `services = True`
  - `x_proto`: the .proto file itself as a filegroup (for reflection-free clients, Python codegen)
`deps` are other clownix_proto names in the same package; imports resolve from the workspace root.
"""

def clownix_proto(name, src, deps = [], services = True, visibility = None):
    stem = src[:-len(".proto")]
    pkg = native.package_name()
    outs = [stem + ".pb.h", stem + ".pb.cc"]
    if services:
        outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]
    dep_srcs = [d + "_proto" for d in deps]
    cmd = ("$(location @system_protoc//:protoc) --proto_path=. " +
           "--cpp_out=$(GENDIR) ")
    tools = ["@system_protoc//:protoc"]
    if services:
        cmd += ("--plugin=protoc-gen-grpc=$(location @system_protoc//:grpc_cpp_plugin) " +
                "--grpc_out=$(GENDIR) ")
        tools.append("@system_protoc//:grpc_cpp_plugin")
    cmd += "$(location %s)" % src

    native.filegroup(
        name = name + "_proto",
        srcs = [src] + dep_srcs,
        visibility = visibility,
    )
    native.genrule(
        name = name + "_codegen",
        srcs = [src] + dep_srcs,
        outs = outs,
        cmd = cmd,
        tools = tools,
    )
    native.cc_library(
        name = name + "_cc_proto",
        srcs = [stem + ".pb.cc"],
        hdrs = [stem + ".pb.h"],
        deps = [d + "_cc_proto" for d in deps] + ["@system_protobuf//:lib"],
        visibility = visibility,
    )
    if services:
        native.cc_library(
            name = name + "_cc_grpc",
            srcs = [stem + ".grpc.pb.cc"],
            hdrs = [stem + ".grpc.pb.h"],
            deps = [name + "_cc_proto", "@system_grpc//:lib"],
            visibility = visibility,
        )
