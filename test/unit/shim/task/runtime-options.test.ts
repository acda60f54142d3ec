import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CreateOptionsSchema } from "../../../../protocol/generated/containerd/linux/runc/create_options_pb.js";
import { OptionsSchema as RuncOptionsSchema } from "../../../../protocol/generated/containerd/runc/v1/options_pb.js";
import { OptionsSchema } from "../../../../protocol/generated/runtimeoptions/v1/options_pb.js";
import { parseRuntimeOptions } from "../../../../shim/task/runtime-options.js";

const any = (a: { typeUrl: string; value: Uint8Array }) => create(AnySchema, a);

describe("runtime options", () => {
  it("reads tskata's ConfigPath", () => {
    const value = toBinary(OptionsSchema, create(OptionsSchema, { configPath: "/etc/x.toml" }));
    expect(parseRuntimeOptions(any({ typeUrl: "runtimeoptions.v1.Options", value })).configPath).toBe(
      "/etc/x.toml",
    );
  });

  it("accepts runc's Options: ShimCgroup and IoUid/IoGid applied, runc-binary fields named as ignored", () => {
    const value = toBinary(
      RuncOptionsSchema,
      create(RuncOptionsSchema, {
        shimCgroup: "/pods/x",
        ioUid: 1000,
        ioGid: 1001,
        binaryName: "/usr/bin/runc",
        systemdCgroup: true,
      }),
    );
    expect(
      parseRuntimeOptions(any({ typeUrl: "type.googleapis.com/containerd.runc.v1.Options", value })),
    ).toEqual({
      configPath: undefined,
      shimCgroup: "/pods/x",
      ioOwner: { uid: 1000, gid: 1001 },
      ignored: ["binary_name", "systemd_cgroup"],
    });
  });

  it("accepts the legacy containerd.linux.runc.CreateOptions", () => {
    const value = toBinary(
      CreateOptionsSchema,
      create(CreateOptionsSchema, { shimCgroup: "/s", noPivotRoot: true }),
    );
    expect(parseRuntimeOptions(any({ typeUrl: "containerd.linux.runc.CreateOptions", value }))).toMatchObject(
      {
        shimCgroup: "/s",
        ioOwner: undefined,
        ignored: ["no_pivot_root"],
      },
    );
  });

  it("refuses a shim cgroup that climbs out of the hierarchy, and unknown option types by name", () => {
    const value = toBinary(RuncOptionsSchema, create(RuncOptionsSchema, { shimCgroup: "/a/../../b" }));
    expect(() => parseRuntimeOptions(any({ typeUrl: "containerd.runc.v1.Options", value }))).toThrow(
      /shim_cgroup/,
    );
    expect(() => parseRuntimeOptions(any({ typeUrl: "example.Other", value: new Uint8Array() }))).toThrow(
      /"example.Other" are not supported/,
    );
  });
});
