# images: references, registry client, manifests, content store, layer unpacking,
# rootfs assembly and image config -> OCI runtime config.
MODULES += images
images_DIR := images
images_SRCS := $(wildcard images/*.c)
images_PKGS := jansson libcurl libarchive libcrypto libisal
images_DEPS := common
images_LDLIBS := -lpthread
