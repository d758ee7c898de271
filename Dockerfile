# syntax=docker/dockerfile:1
# The OrleansShards silo (Orleans silo + HTTP API). Build from the repository root:
#   docker build -t orleans-shards:0.1.0 .
# The image runs as the non-root user app (UID 1654) of the ASP.NET image; deploy/k8s runs it with
# runAsUser 1654 and a read-only root file system.
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /source
# global.json is left out on purpose: it pins the SDK of the development machines (and the test
# runner), and the SDK of this image builds the same projects.
COPY .editorconfig Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Silo/Silo.csproj
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Silo/Silo.csproj --configuration Release --no-restore --output /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app ./
# The data directory (caches, the SQLite file of a single-silo run) belongs to the app user.
RUN mkdir -p /var/lib/orleans-shards && chown "$APP_UID" /var/lib/orleans-shards
ENV ASPNETCORE_HTTP_PORTS=8080 \
    Shards__DataDir=/var/lib/orleans-shards
USER $APP_UID
# HTTP API, silo-to-silo, client gateway.
EXPOSE 8080 11111 30000
ENTRYPOINT ["dotnet", "OrleansShards.Silo.dll"]
