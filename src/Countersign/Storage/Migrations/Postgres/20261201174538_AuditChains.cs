using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Countersign.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class AuditChains : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Chain",
                table: "audit_events",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "Seq",
                table: "audit_events",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            // The rows so far were one chain ordered by id: number them 1, 2, 3 … in chain 0 (their hashes stay valid).
            migrationBuilder.Sql("""
                UPDATE audit_events SET "Seq" = r.n
                FROM (SELECT "Id", row_number() OVER (ORDER BY "Id") AS n FROM audit_events) AS r
                WHERE audit_events."Id" = r."Id";
                """);

            // Picks the chain a transaction appends to (Audit/AuditChain.cs): the first whose advisory lock is free,
            // trying 0, 1, 2 …; waits on chain 0 only when all are busy; the same one again for a second save
            // in the same transaction (remembered transaction-locally), so no transaction holds two chain locks.
            migrationBuilder.Sql("""
                CREATE FUNCTION countersign_audit_chain(chains integer) RETURNS integer
                LANGUAGE plpgsql VOLATILE AS $$
                DECLARE
                    held text := current_setting('countersign.audit_chain', true);
                    c integer;
                BEGIN
                    IF held IS NOT NULL AND held <> '' THEN
                        RETURN held::integer;
                    END IF;
                    FOR i IN 0 .. chains - 1 LOOP
                        c := i;
                        IF pg_try_advisory_xact_lock(1131626869, c) THEN
                            PERFORM set_config('countersign.audit_chain', c::text, true);
                            RETURN c;
                        END IF;
                    END LOOP;
                    c := 0;
                    PERFORM pg_advisory_xact_lock(1131626869, c);
                    PERFORM set_config('countersign.audit_chain', c::text, true);
                    RETURN c;
                END
                $$;
                """);

            migrationBuilder.CreateTable(
                name: "audit_checkpoints",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    At = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Heads = table.Column<string>(type: "text", nullable: false),
                    Hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    Mac = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_checkpoints", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_audit_events_Chain_Seq",
                table: "audit_events",
                columns: new[] { "Chain", "Seq" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION countersign_audit_chain(integer);");
            migrationBuilder.DropTable(
                name: "audit_checkpoints");

            migrationBuilder.DropIndex(
                name: "IX_audit_events_Chain_Seq",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "Chain",
                table: "audit_events");

            migrationBuilder.DropColumn(
                name: "Seq",
                table: "audit_events");
        }
    }
}
