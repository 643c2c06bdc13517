using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Countersign.Storage.Migrations.Sqlite
{
    /// <summary>
    /// No schema change: refresh_tokens."UsedAt" becomes a concurrency token in the model, so the refresh's save claims
    /// the token (SessionService.RefreshAsync). The migration keeps the snapshot in step with the model.
    /// </summary>
    public partial class RefreshTokenClaim : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
